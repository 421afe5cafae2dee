/** Chooses the store backend. Only the embedded SQLite store exists today; Redis comes next. */
import type { Store } from './types.js';
import { openSqliteStore } from './sqlite.js';

export interface StoreOptions {
  dataDir: string;
  /** When false, a missing store is an error (CLI commands other than serve). */
  create?: boolean;
  /** How many revisions of changes the store remembers for changesSince (tests make it small). */
  changesKept?: number;
  /** The clock of a user's creation time (tests set it). */
  now?: () => number;
}

export function openStore(options: StoreOptions): Store {
  return openSqliteStore(options);
}
