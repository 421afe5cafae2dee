import type { Store } from './types.js';
import { openSqliteStore } from './sqlite.js';

export type { AdminActor, KeyRecord, KeyState, NewKeyRecord, Store, UserPatch, UserRecord, UserWriteOptions } from './types.js';
export { STORE_FILE } from './sqlite.js';

export interface StoreOptions {
  dataDir: string;
  /** When false, a missing store is an error (CLI commands other than serve). */
  create?: boolean;
  /** How many revisions of user changes the store remembers (tests make it small). */
  userChangesKept?: number;
}

/** Chooses the backend. Only the embedded SQLite store exists today; Redis comes next. */
export function openStore(options: StoreOptions): Store {
  return openSqliteStore(options);
}
