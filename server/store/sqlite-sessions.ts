/** The SQLite store's browser sessions and session secrets (see Store in types.ts). */
import type Database from 'better-sqlite3';
import type { Changed } from './sqlite.js';
import type { AdminActor, SessionRecord, SessionSecretRecord, SessionSelector, Store } from './types.js';

interface SessionRow {
  id_hash: string;
  handle: string;
  user: string;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  expires_at: number;
  client_address: string;
  user_agent: string;
}

interface SecretRow {
  id: string;
  secret: string;
  created_at: number;
  retires_at: number | null;
}

const toSession = (r: SessionRow): SessionRecord => ({
  idHash: r.id_hash,
  handle: r.handle,
  user: r.user,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  idleExpiresAt: r.idle_expires_at,
  expiresAt: r.expires_at,
  clientAddress: r.client_address,
  userAgent: r.user_agent,
});

const toSecret = (r: SecretRow): SessionSecretRecord => ({ id: r.id, secret: r.secret, createdAt: r.created_at, retiresAt: r.retires_at });

type Write = <T>(fn: (changed: Changed) => T) => T;
type CheckActor = (actor: AdminActor | undefined) => void;

export type SessionMethods = Pick<
  Store,
  'createSession' | 'getSession' | 'touchSession' | 'listSessions' | 'deleteSessions' | 'pruneSessions' | 'listSessionSecrets' | 'addSessionSecret'
> & {
  /** Inside a user write: ends every session of `user`, recording them in `changed`. */
  endSessionsOf(user: string, changed: Changed): void;
};

export function sqliteSessions(db: Database.Database, write: Write, checkActor: CheckActor): SessionMethods {
  const q = {
    insert: db.prepare(
      `INSERT INTO sessions (id_hash, handle, user, created_at, last_seen_at, idle_expires_at, expires_at, client_address, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    get: db.prepare<[string], SessionRow>(`SELECT * FROM sessions WHERE id_hash = ?`),
    touch: db.prepare(`UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?), idle_expires_at = MAX(idle_expires_at, ?) WHERE id_hash = ?`),
    listAll: db.prepare<[number, number], SessionRow>(`SELECT * FROM sessions WHERE expires_at > ? AND idle_expires_at > ? ORDER BY created_at DESC, handle`),
    listOf: db.prepare<[string, number, number], SessionRow>(`SELECT * FROM sessions WHERE user = ? AND expires_at > ? AND idle_expires_at > ? ORDER BY created_at DESC, handle`),
    byHandle: db.prepare<[string], SessionRow>(`SELECT * FROM sessions WHERE handle = ?`),
    byUser: db.prepare<[string], SessionRow>(`SELECT * FROM sessions WHERE user = ?`),
    delete: db.prepare(`DELETE FROM sessions WHERE id_hash = ?`),
    prune: db.prepare(`DELETE FROM sessions WHERE expires_at <= ? OR idle_expires_at <= ?`),
    secrets: db.prepare<[number], SecretRow>(`SELECT * FROM session_secrets WHERE retires_at IS NULL OR retires_at > ? ORDER BY created_at DESC, id`),
    countSecrets: db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM session_secrets`),
    retireOthers: db.prepare(`UPDATE session_secrets SET retires_at = ? WHERE retires_at IS NULL OR retires_at > ?`),
    dropRetired: db.prepare(`DELETE FROM session_secrets WHERE retires_at IS NOT NULL AND retires_at <= ?`),
    insertSecret: db.prepare(`INSERT INTO session_secrets (id, secret, created_at, retires_at) VALUES (?, ?, ?, NULL)`),
  };

  function endSessionsOf(user: string, changed: Changed): void {
    for (const row of q.byUser.all(user)) {
      q.delete.run(row.id_hash);
      changed.sessions.push(row.id_hash);
    }
  }

  return {
    endSessionsOf,
    async createSession(s) {
      q.insert.run(s.idHash, s.handle, s.user, s.createdAt, s.lastSeenAt, s.idleExpiresAt, s.expiresAt, s.clientAddress, s.userAgent);
    },
    async getSession(idHash) {
      const row = q.get.get(idHash);
      return row ? toSession(row) : undefined;
    },
    async touchSession(idHash, lastSeenAt, idleExpiresAt) {
      q.touch.run(lastSeenAt, idleExpiresAt, idHash);
    },
    async listSessions(now, filter = {}) {
      const rows = filter.user === undefined ? q.listAll.all(now, now) : q.listOf.all(filter.user, now, now);
      return rows.map(toSession);
    },
    async deleteSessions(selector: SessionSelector, options = {}) {
      return write((changed) => {
        checkActor(options.actor);
        const rows = 'user' in selector ? q.byUser.all(selector.user) : [('handle' in selector ? q.byHandle.get(selector.handle) : q.get.get(selector.idHash))].filter((r): r is SessionRow => r !== undefined);
        for (const row of rows) {
          q.delete.run(row.id_hash);
          changed.sessions.push(row.id_hash);
        }
        return rows.map(toSession);
      });
    },
    async pruneSessions(now) {
      return q.prune.run(now, now).changes;
    },
    async listSessionSecrets(now) {
      return q.secrets.all(now).map(toSecret);
    },
    async addSessionSecret(secret, othersRetireAt, options = {}) {
      return write(() => {
        if (options.onlyIfNone && (q.countSecrets.get()?.n ?? 0) > 0) return false;
        q.dropRetired.run(secret.createdAt);
        q.retireOthers.run(othersRetireAt, othersRetireAt);
        q.insertSecret.run(secret.id, secret.secret, secret.createdAt);
        return true;
      });
    },
  };
}
