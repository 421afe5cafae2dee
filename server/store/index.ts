export type { AdminActor, Changes, KeyRecord, KeyState, NewKeyRecord, PromoteNextKey, ReplaceNextKey, ReplaceSigningKeys, SessionFilter, SessionPage, SessionRecord, SessionSecretRecord, SessionSelector, SigningKids, Store, UserPatch, UserRecord, UserWriteOptions } from './types.js';
export { STORE_FILE } from './sqlite.js';
export { openStore, type StoreOptions } from './open-store.js';
export { backupSqliteStore, type SqliteBackupOptions, type SqliteBackupSummary } from './sqlite-backup.js';
