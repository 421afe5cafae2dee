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
import { sqliteSessions } from './sqlite-sessions.js';
import type { AdminActor, Changes, KeyRecord, KeyState, NewKeyRecord, SigningKids, Store, UserPatch, UserRecord, UserWriteOptions } from './types.js';

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
interface KeyRow {
  kid: string;
  state: KeyState;
  bits: number;
  created_at: number;
  published_at: number;
  activates_at: number | null;
  not_after: number | null;
  public_jwk: string;
  private_key: string | null;
}

const toUser = (row: UserRow): UserRecord => ({ name: row.name, roles: JSON.parse(row.roles) as string[], passwordHash: row.password_hash, passwordVersion: row.password_version, createdAt: row.created_at });
const toKey = (row: KeyRow): KeyRecord => ({
  kid: row.kid,
  state: row.state,
  bits: row.bits,
  createdAt: row.created_at,
  publishedAt: row.published_at,
  activatesAt: row.activates_at,
  notAfter: row.not_after,
  publicJwk: row.public_jwk,
  privateKey: row.private_key,
});

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
    listKeys: db.prepare<[], KeyRow>(`SELECT * FROM keys ORDER BY created_at, kid`),
    signingKeys: db.prepare<[], { kid: string; state: 'active' | 'next' }>(`SELECT kid, state FROM keys WHERE state IN ('active', 'next')`),
    insertKey: db.prepare<[{ kid: string; state: 'active' | 'next'; bits: number; createdAt: number; publishedAt: number; activatesAt: number | null; publicJwk: string; privateKey: string }]>(
      `INSERT INTO keys (kid, state, bits, created_at, published_at, activates_at, not_after, public_jwk, private_key) VALUES (@kid, @state, @bits, @createdAt, @publishedAt, @activatesAt, NULL, @publicJwk, @privateKey)`,
    ),
    activate: db.prepare(`UPDATE keys SET state = 'active', activates_at = ? WHERE kid = ?`),
    // A key that stops signing never signs again: its private key goes at once (only the
    // public key stays published until not_after), so a copy of the store taken later cannot sign with it.
    toRetiring: db.prepare(`UPDATE keys SET state = 'retiring', not_after = ?, private_key = NULL WHERE kid = ?`),
    retireAllRetiring: db.prepare(`UPDATE keys SET state = 'retired', not_after = ?, private_key = NULL WHERE state = 'retiring'`),
    retireNow: db.prepare(`UPDATE keys SET state = 'retired', not_after = ?, private_key = NULL WHERE kid = ?`),
    countExpired: db.prepare<[number], { n: number }>(`SELECT COUNT(*) AS n FROM keys WHERE state = 'retiring' AND not_after <= ?`),
    retireExpired: db.prepare(`UPDATE keys SET state = 'retired', private_key = NULL WHERE state = 'retiring' AND not_after <= ?`),
    setPrivateKey: db.prepare(`UPDATE keys SET private_key = ? WHERE kid = ?`),
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

  /**
   * A key transition: one IMMEDIATE transaction that first checks the active and next keys are
   * still `expected` (compare-and-set; false and no write otherwise), then applies `fn`, bumps
   * the revision, and purges erased key material from the WAL.
   */
  function keyTransition(expected: SigningKids, fn: (current: SigningKids) => void, actor?: AdminActor): boolean {
    const tx = db.transaction(() => {
      checkActor(actor);
      const current: SigningKids = { active: null, next: null };
      for (const row of q.signingKeys.all()) current[row.state] = row.kid;
      if (current.active !== expected.active || current.next !== expected.next) return false;
      fn(current);
      q.bump.run();
      return true;
    });
    const applied = tx.immediate();
    if (applied) purgeWal();
    return applied;
  }

  function insertKey(key: NewKeyRecord, state: 'active' | 'next', now: number): void {
    const { kid, bits, createdAt, publicJwk, privateKey } = key;
    q.insertKey.run({ kid, state, bits, createdAt, publishedAt: now, activatesAt: state === 'active' ? now : null, publicJwk, privateKey });
  }

  /** Old page images in the WAL may still hold erased key material: fold them into the file now. */
  function purgeWal(): void {
    db.pragma('wal_checkpoint(TRUNCATE)');
  }

  const sessions = sqliteSessions(db, write, checkActor);
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
    async listKeys() {
      return q.listKeys.all().map(toKey);
    },
    async promoteNextKey({ expected, newNext, previousNotAfter, now, actor }) {
      return keyTransition(expected, (current) => {
        if (current.active !== null) q.toRetiring.run(previousNotAfter, current.active);
        q.activate.run(now, expected.next);
        insertKey(newNext, 'next', now);
      }, actor);
    },
    async replaceNextKey({ expected, next, now, actor }) {
      return keyTransition(expected, (current) => {
        if (current.next !== null) q.retireNow.run(now, current.next);
        insertKey(next, 'next', now);
      }, actor);
    },
    async replaceSigningKeys({ expected, active, next, now, actor, retireRetiring }) {
      return keyTransition(expected, (current) => {
        for (const kid of [current.active, current.next]) if (kid !== null) q.retireNow.run(now, kid);
        if (retireRetiring) q.retireAllRetiring.run(now);
        insertKey(active, 'active', now);
        insertKey(next, 'next', now);
      }, actor);
    },
    async retireExpiredKeys(now) {
      // Read-only check first: most polls find nothing due and must not bump the revision.
      if ((q.countExpired.get(now)?.n ?? 0) === 0) return 0;
      const changed = write(() => q.retireExpired.run(now).changes);
      purgeWal();
      return changed;
    },
    async rewritePrivateKeys(map) {
      const changed = write(() => {
        let n = 0;
        for (const row of q.listKeys.all()) {
          if (row.private_key === null) continue;
          const next = map(row.kid, row.private_key);
          if (next !== row.private_key) n += q.setPrivateKey.run(next, row.kid).changes;
        }
        return n;
      });
      purgeWal();
      return changed;
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
  return store;
}
