/**
 * The embedded store: one SQLite file (better-sqlite3) in WAL mode with synchronous writes, so
 * an acknowledged change survives a crash. The server and the CLI open the same file; SQLite
 * serializes their writes (busy timeout) and `revision` tells the server something changed.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ActorRevokedError, ForbiddenError, LastAdminError, StoreError, StoreNotFoundError } from '../errors.js';
import { migrate, SCHEMA_VERSION } from './sqlite-migrations.js';
import { sqliteKeys } from './sqlite-keys.js';
import { sqliteSessions } from './sqlite-sessions.js';
import type { AdminActor, Changes, Store, UserPatch, UserRecord, UserWriteOptions } from './types.js';

/** What one write touched, filled in while it runs. */
export interface Changed {
  users: string[];
  /** Session id hashes. */
  sessions: string[];
}

/** The administrator role (identity/ names it too; the store must not depend on identity/). */
const ROLE_ADMIN = 'ROLE_ADMIN';

/** How many revisions of changes are remembered for changesSince (older ones: "unknown"). */
const CHANGES_KEPT = 10_000;

interface UserRow {
  name: string;
  roles: string;
  password_hash: string | null;
  password_version: number;
  created_at: number;
}

const toUser = (row: UserRow): UserRecord => ({ name: row.name, roles: JSON.parse(row.roles) as string[], passwordHash: row.password_hash, passwordVersion: row.password_version, createdAt: row.created_at });

export interface SqliteStoreOptions {
  dataDir: string;
  /** When false, a missing store is an error instead of being created (CLI commands). */
  create?: boolean;
  /** Revisions of changes remembered for changesSince (tests make it small). */
  changesKept?: number;
  /** The clock of UserRecord.createdAt (tests set it). */
  now?: () => number;
}

export const STORE_FILE = 'jwtgate.sqlite';

export function openSqliteStore(options: SqliteStoreOptions): Store {
  const file = path.join(options.dataDir, STORE_FILE);
  if (options.create === false && !fs.existsSync(file)) {
    throw new StoreNotFoundError(`no store at ${file} (start the server once, or pass --data-dir)`);
  }
  // Private keys and password hashes live here: owner-only folder and files.
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 5000 });
  } catch (err) {
    throw new StoreError(`cannot open the store at ${file}: ${(err as Error).message}`, { cause: err });
  }
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      fs.chmodSync(file + suffix, 0o600);
    } catch {
      // -wal/-shm appear with the first write; they inherit the umask until then.
    }
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Erased private keys (retired, re-sealed) are overwritten on disk, not left in free pages.
  db.pragma('secure_delete = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new StoreError(`the store at ${file} has schema ${version}, newer than this jwtgate (${SCHEMA_VERSION})`);
  }
  if (migrate(db) < SCHEMA_VERSION) db.pragma('wal_checkpoint(TRUNCATE)');

  const q = {
    revision: db.prepare<[], { v: string }>(`SELECT v FROM meta WHERE k = 'revision'`),
    bump: db.prepare(`UPDATE meta SET v = CAST(v AS INTEGER) + 1 WHERE k = 'revision'`),
    getMeta: db.prepare<[string], { v: string | null }>(`SELECT v FROM meta WHERE k = ?`),
    setMeta: db.prepare(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`),
    getUser: db.prepare<[string], UserRow>(`SELECT name, roles, password_hash, password_version, created_at FROM users WHERE name = ?`),
    listUsers: db.prepare<[], UserRow>(`SELECT name, roles, password_hash, password_version, created_at FROM users ORDER BY name`),
    countUsers: db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM users`),
    countAdminsWithPassword: db.prepare<[], { n: number }>(
      `SELECT COUNT(*) AS n FROM users, json_each(users.roles) AS role WHERE role.value = 'ROLE_ADMIN' AND password_hash IS NOT NULL`,
    ),
    insertUser: db.prepare(`INSERT INTO users (name, roles, password_hash, password_version, created_at) VALUES (?, ?, ?, ?, ?)`),
    updateUser: db.prepare(`UPDATE users SET roles = ?, password_hash = ?, password_version = ? WHERE name = ?`),
    recordChange: db.prepare(`INSERT INTO changes (revision, kind, key) SELECT CAST(v AS INTEGER), ?, ? FROM meta WHERE k = 'revision'`),
    prunedBelow: db.prepare<[], { v: string | null }>(`SELECT v FROM meta WHERE k = 'changes_pruned_below'`),
    setPrunedBelow: db.prepare(`INSERT INTO meta (k, v) VALUES ('changes_pruned_below', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`),
    pruneChanges: db.prepare(`DELETE FROM changes WHERE revision < (SELECT CAST(v AS INTEGER) FROM meta WHERE k = 'revision') - ?`),
    changesSince: db.prepare<[number], { kind: 'user' | 'session'; key: string }>(`SELECT DISTINCT kind, key FROM changes WHERE revision > ?`),
    replaceHash: db.prepare(`UPDATE users SET password_hash = ? WHERE name = ? AND password_hash = ?`),
    deleteUser: db.prepare(`DELETE FROM users WHERE name = ?`),
  };

  const currentRevision = () => Number(q.revision.get()?.v ?? 0);
  const changesKept = options.changesKept ?? CHANGES_KEPT;
  const now = options.now ?? Date.now;

  /**
   * Runs a write and bumps the revision in the same IMMEDIATE transaction; the users and
   * sessions it touched (`changed`, which `fn` may fill in) are recorded under the new revision.
   */
  function write<T>(fn: (changed: Changed) => T, users: readonly string[] = []): T {
    const tx = db.transaction(() => {
      const changed: Changed = { users: [...users], sessions: [] };
      const result = fn(changed);
      q.bump.run();
      if (changed.users.length + changed.sessions.length > 0) {
        for (const name of changed.users) q.recordChange.run('user', name);
        for (const idHash of changed.sessions) q.recordChange.run('session', idHash);
        const pruned = q.pruneChanges.run(changesKept).changes;
        if (pruned > 0) q.setPrunedBelow.run(String(currentRevision() - changesKept));
      }
      return result;
    });
    return tx.immediate();
  }

  /** The checks of UserWriteOptions['actor'], inside the caller's transaction. */
  function checkActor(actor: AdminActor | undefined): void {
    if (!actor) return;
    const row = q.getUser.get(actor.name);
    if (!row || row.password_hash === null || row.password_version !== actor.passwordVersion) {
      throw new ActorRevokedError(`${actor.name} was deleted or their password changed: log in again`);
    }
    if (!(JSON.parse(row.roles) as string[]).includes(ROLE_ADMIN)) throw new ForbiddenError(`${actor.name} is no longer an administrator`);
  }

  /** LastAdminError unless another administrator with a password remains once `name` becomes `after` (undefined: deleted). */
  function checkKeepsAnAdmin(name: string, after: UserRecord | undefined): void {
    const before = q.getUser.get(name);
    const wasAdmin = before !== undefined && before.password_hash !== null && (JSON.parse(before.roles) as string[]).includes(ROLE_ADMIN);
    const staysAdmin = after !== undefined && after.passwordHash !== null && after.roles.includes(ROLE_ADMIN);
    if (wasAdmin && !staysAdmin && (q.countAdminsWithPassword.get()?.n ?? 0) <= 1) {
      throw new LastAdminError(`${name} is the last administrator with a password`);
    }
  }

  const sessions = sqliteSessions(db, write, checkActor);
  const keys = sqliteKeys(db, { write, checkActor, bump: () => q.bump.run() });
  const { endSessionsOf: _endSessionsOf, ...sessionMethods } = sessions;

  let closed = false;
  const store: Store = {
    ...sessionMethods,
    async revision() {
      return Number(q.revision.get()?.v ?? 0);
    },
    async deploymentId() {
      const existing = q.getMeta.get('deployment_id')?.v;
      if (existing) return existing;
      return write(() => {
        const again = q.getMeta.get('deployment_id')?.v;
        if (again) return again;
        const id = randomBytes(6).toString('hex');
        q.setMeta.run('deployment_id', id);
        return id;
      });
    },
    async getProxyUrl() {
      return q.getMeta.get('proxy_url')?.v ?? null;
    },
    async setProxyUrl(url, options = {}) {
      write(() => {
        checkActor(options.actor);
        q.setMeta.run('proxy_url', url);
      });
    },
    async getUser(name) {
      const row = q.getUser.get(name);
      return row ? toUser(row) : undefined;
    },
    async listUsers() {
      return q.listUsers.all().map(toUser);
    },
    async countUsers() {
      return q.countUsers.get()?.n ?? 0;
    },
    async upsertUser(name: string, patch: UserPatch, options: UserWriteOptions = {}) {
      return write((changed) => {
        checkActor(options.actor);
        const row = q.getUser.get(name);
        const before: UserRecord = row ? toUser(row) : { name, roles: [], passwordHash: null, passwordVersion: 0, createdAt: now() };
        const passwordChanged = patch.passwordHash !== undefined;
        const user: UserRecord = {
          name,
          roles: patch.roles ?? before.roles,
          passwordHash: passwordChanged ? patch.passwordHash! : before.passwordHash,
          // The revision this write creates: never used by any earlier password, even of a
          // deleted user of the same name (a check against that one must not pass for this one).
          passwordVersion: passwordChanged ? currentRevision() + 1 : before.passwordVersion,
          createdAt: before.createdAt,
        };
        if (options.keepAnAdmin) checkKeepsAnAdmin(name, user);
        if (row) q.updateUser.run(JSON.stringify(user.roles), user.passwordHash, user.passwordVersion, name);
        else q.insertUser.run(name, JSON.stringify(user.roles), user.passwordHash, user.passwordVersion, user.createdAt);
        // A new password ends the user's sessions (whoever knew the old one is logged out).
        if (row && passwordChanged) sessions.endSessionsOf(name, changed);
        return { created: !row, user };
      }, [name]);
    },
    async createFirstUser(user) {
      return write(() => {
        if ((q.countUsers.get()?.n ?? 0) > 0) return false;
        q.insertUser.run(user.name, JSON.stringify(user.roles), user.passwordHash, currentRevision() + 1, now());
        return true;
      }, [user.name]);
    },
    async replacePasswordHash(name, expected, replacement) {
      return q.replaceHash.run(replacement, name, expected).changes === 1;
    },
    async deleteUser(name, options = {}) {
      return write((changed) => {
        checkActor(options.actor);
        if (options.keepAnAdmin) checkKeepsAnAdmin(name, undefined);
        sessions.endSessionsOf(name, changed);
        return q.deleteUser.run(name).changes > 0;
      }, [name]);
    },
    async checkActor(actor) {
      checkActor(actor);
    },
    async changesSince(revision) {
      const prunedBelow = Number(q.prunedBelow.get()?.v ?? 0);
      if (revision < prunedBelow) return null;
      const changes: Changes = { users: [], sessions: [] };
      for (const row of q.changesSince.all(revision)) (row.kind === 'user' ? changes.users : changes.sessions).push(row.key);
      return changes;
    },
    ...keys,
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
  return store;
}
