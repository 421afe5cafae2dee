/**
 * The SQLite schema as an ordered list of steps, keyed by `PRAGMA user_version`: opening a store
 * at version N runs the steps after N, in order, in one IMMEDIATE transaction (so two processes
 * opening an old store at once migrate it once), then sets user_version to the last step. A
 * schema change is a new step at the end; a shipped step never changes.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  description: string;
  up(db: Database.Database): void;
}

/** The schema of jwtgate 0.1 (user_version 1). */
const V1_INITIAL = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT);
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  roles TEXT NOT NULL,
  password_hash TEXT
);
CREATE TABLE IF NOT EXISTS keys (
  kid TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retiring', 'retired')),
  bits INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  activates_at INTEGER,
  not_after INTEGER,
  public_jwk TEXT NOT NULL,
  private_key TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS keys_one_active ON keys (state) WHERE state = 'active';
INSERT OR IGNORE INTO meta (k, v) VALUES ('revision', '0');
`;

/**
 * Keys: `next` replaces `pending`, and every key records when it entered the JWKS. Lossless: a
 * pending key was published from its creation, so it becomes the next key with
 * published_at = created_at and keeps its activates_at (its promotion stays scheduled). Only
 * one pending key can exist (a rotation retired the previous one); should there be several, the
 * newest becomes next and the others are retired, as a rotation would have done. Every other key
 * keeps its state; an active key without activates_at gets its created_at.
 */
const V2_KEYS_NEXT = `
CREATE TABLE keys_v2 (
  kid TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('next', 'active', 'retiring', 'retired')),
  bits INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  published_at INTEGER NOT NULL,
  activates_at INTEGER,
  not_after INTEGER,
  public_jwk TEXT NOT NULL,
  private_key TEXT
);
WITH newest_pending AS (SELECT kid FROM keys WHERE state = 'pending' ORDER BY created_at DESC, kid DESC LIMIT 1)
INSERT INTO keys_v2 (kid, state, bits, created_at, published_at, activates_at, not_after, public_jwk, private_key)
  SELECT kid,
    CASE WHEN state <> 'pending' THEN state WHEN kid IN newest_pending THEN 'next' ELSE 'retired' END,
    bits, created_at, created_at,
    CASE WHEN state = 'active' THEN COALESCE(activates_at, created_at) ELSE activates_at END,
    not_after, public_jwk,
    CASE WHEN state = 'pending' AND kid NOT IN newest_pending THEN NULL ELSE private_key END
  FROM keys;
DROP TABLE keys;
ALTER TABLE keys_v2 RENAME TO keys;
CREATE UNIQUE INDEX keys_one_active ON keys (state) WHERE state = 'active';
CREATE UNIQUE INDEX keys_one_next ON keys (state) WHERE state = 'next';
`;

/**
 * Users get a password version (admin writes check it); one log of which users and sessions each
 * revision touched (servers drop only those from their caches); browser sessions (by the SHA-256
 * of their id) and the secrets that sign their cookies.
 */
const V3_SESSIONS = `
ALTER TABLE users ADD COLUMN password_version INTEGER NOT NULL DEFAULT 0;
CREATE TABLE changes (revision INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('user', 'session')), key TEXT NOT NULL);
CREATE INDEX changes_by_revision ON changes (revision);
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  handle TEXT NOT NULL UNIQUE,
  user TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  client_address TEXT NOT NULL,
  user_agent TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user);
CREATE TABLE session_secrets (id TEXT PRIMARY KEY, secret TEXT NOT NULL, created_at INTEGER NOT NULL, retires_at INTEGER);
`;

/**
 * Users record when they were created (ms since epoch), so that a token minted for a deleted
 * user is not taken for a later user of the same name. Users from before this step get 0:
 * "unknown", checked as before.
 */
const V4_USER_CREATED_AT = `
ALTER TABLE users ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'meta, users, keys', up: (db) => db.exec(V1_INITIAL) },
  { version: 2, description: 'keys: the next state replaces pending; published_at', up: (db) => db.exec(V2_KEYS_NEXT) },
  { version: 3, description: 'users: password version; change log; sessions and session secrets', up: (db) => db.exec(V3_SESSIONS) },
  { version: 4, description: 'users: creation time', up: (db) => db.exec(V4_USER_CREATED_AT) },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** Brings the store up to SCHEMA_VERSION; returns the version it was at. */
export function migrate(db: Database.Database): number {
  const run = db.transaction(() => {
    const from = db.pragma('user_version', { simple: true }) as number;
    for (const step of MIGRATIONS) if (step.version > from) step.up(db);
    if (from < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return from;
  });
  return run.immediate();
}
