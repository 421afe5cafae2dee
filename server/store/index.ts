import type { Store } from './types.js';
import { openSqliteStore } from './sqlite.js';

export type { AdminActor, Changes, KeyRecord, KeyState, NewKeyRecord, PromoteNextKey, ReplaceNextKey, ReplaceSigningKeys, SessionRecord, SessionSecretRecord, SessionSelector, SigningKids, Store, UserPatch, UserRecord, UserWriteOptions } from './types.js';
export { STORE_FILE } from './sqlite.js';

export interface StoreOptions {
  dataDir: string;
  /** When false, a missing store is an error (CLI commands other than serve). */
  create?: boolean;
  /** How many revisions of changes the store remembers for changesSince (tests make it small). */
  changesKept?: number;
}

/** Chooses the backend. Only the embedded SQLite store exists today; Redis comes next. */
export function openStore(options: StoreOptions): Store {
  return openSqliteStore(options);
}
