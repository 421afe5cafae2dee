import type { Store } from './types.js';
import { openSqliteStore } from './sqlite.js';

export type { KeyRecord, KeyState, NewKeyRecord, PromoteNextKey, ReplaceNextKey, ReplaceSigningKeys, SigningKids, Store, UserPatch, UserRecord } from './types.js';
export { STORE_FILE } from './sqlite.js';

export interface StoreOptions {
  dataDir: string;
  /** When false, a missing store is an error (CLI commands other than serve). */
  create?: boolean;
}

/** Chooses the backend. Only the embedded SQLite store exists today; Redis comes next. */
export function openStore(options: StoreOptions): Store {
  return openSqliteStore(options);
}
