/** A store file exactly as jwtgate 0.1 left it (schema 1: keys pending/active/retiring/retired), to test the upgrade. */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { STORE_FILE } from '../../server/store/index.js';

export interface V1Key {
  kid: string;
  state: 'pending' | 'active' | 'retiring' | 'retired';
  createdAt: number;
  activatesAt: number | null;
  notAfter: number | null;
  privateKey: string | null;
  /** Defaults to a stand-in `{"kid": ...}`. */
  publicJwk?: string;
  bits?: number;
}

export interface V1User {
  name: string;
  roles: readonly string[];
  passwordHash: string | null;
}

/** `users` default to one admin (`["ROLE_ADMIN"]`, hash `scrypt$h`). */
export function writeV1Store(dir: string, keys: readonly V1Key[], users: readonly V1User[] = [{ name: 'admin', roles: ['ROLE_ADMIN'], passwordHash: 'scrypt$h' }]): void {
  fs.mkdirSync(dir, { recursive: true });
  const db = new Database(path.join(dir, STORE_FILE));
  db.exec(`
    CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT);
    CREATE TABLE users (name TEXT PRIMARY KEY, roles TEXT NOT NULL, password_hash TEXT);
    CREATE TABLE keys (kid TEXT PRIMARY KEY, state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retiring', 'retired')), bits INTEGER NOT NULL,
      created_at INTEGER NOT NULL, activates_at INTEGER, not_after INTEGER, public_jwk TEXT NOT NULL, private_key TEXT);
    CREATE UNIQUE INDEX keys_one_active ON keys (state) WHERE state = 'active';
    INSERT INTO meta (k, v) VALUES ('revision', '7'), ('proxy_url', 'http://kept.test');
  `);
  const insertUser = db.prepare('INSERT INTO users VALUES (?, ?, ?)');
  for (const u of users) insertUser.run(u.name, JSON.stringify(u.roles), u.passwordHash);
  const insert = db.prepare('INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  for (const k of keys) insert.run(k.kid, k.state, k.bits ?? 2048, k.createdAt, k.activatesAt, k.notAfter, k.publicJwk ?? `{"kid":"${k.kid}"}`, k.privateKey);
  db.pragma('user_version = 1');
  db.close();
}
