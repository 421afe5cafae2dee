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
    // The count is taken before the LIMIT: how many match in all, in the same read.
    listAll: db.prepare<[number, number, number], SessionRow & { total: number }>(
      `SELECT *, COUNT(*) OVER () AS total FROM sessions WHERE expires_at > ? AND idle_expires_at > ? ORDER BY created_at DESC, handle LIMIT ?`,
    ),
    listOf: db.prepare<[string, number, number, number], SessionRow & { total: number }>(
      `SELECT *, COUNT(*) OVER () AS total FROM sessions WHERE user = ? AND expires_at > ? AND idle_expires_at > ? ORDER BY created_at DESC, handle LIMIT ?`,
    ),
    countLiveOf: db.prepare<[string, number, number], { n: number }>(`SELECT COUNT(*) AS n FROM sessions WHERE user = ? AND expires_at > ? AND idle_expires_at > ?`),
    oldestLiveOf: db.prepare<[string, number, number, number], SessionRow>(`SELECT * FROM sessions WHERE user = ? AND expires_at > ? AND idle_expires_at > ? ORDER BY created_at, handle LIMIT ?`),
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

  /** Inside a write: deletes these sessions, recording them in `changed`; returns them. */
  function end(rows: readonly SessionRow[], changed: Changed): SessionRecord[] {
    for (const row of rows) {
      q.delete.run(row.id_hash);
      changed.sessions.push(row.id_hash);
    }
    return rows.map(toSession);
  }

  function endSessionsOf(user: string, changed: Changed): void {
    end(q.byUser.all(user), changed);
  }

  return {
    endSessionsOf,
    async createSession(s, options = {}) {
      const insert = () => q.insert.run(s.idHash, s.handle, s.user, s.createdAt, s.lastSeenAt, s.idleExpiresAt, s.expiresAt, s.clientAddress, s.userAgent);
      const max = options.maxPerUser;
      if (max === undefined) {
        insert();
        return [];
      }
      // IMMEDIATE: the count and the insert hold the write lock together, so two processes
      // creating sessions for one user at once cannot both find room.
      const tx = db.transaction((): SessionRecord[] => {
        const over = (q.countLiveOf.get(s.user, s.createdAt, s.createdAt)?.n ?? 0) - (max - 1);
        if (over <= 0) {
          insert();
          return [];
        }
        // Ending sessions is a write other servers must see: the revision moves, the ends are logged.
        return write((changed) => {
          const ended = end(q.oldestLiveOf.all(s.user, s.createdAt, s.createdAt, over), changed);
          insert();
          return ended;
        });
      });
      return tx.immediate();
    },
    async getSession(idHash) {
      const row = q.get.get(idHash);
      return row ? toSession(row) : undefined;
    },
    async touchSession(idHash, lastSeenAt, idleExpiresAt) {
      q.touch.run(lastSeenAt, idleExpiresAt, idHash);
    },
    async listSessions(now, filter = {}) {
      const limit = filter.limit ?? -1; // SQLite: a negative LIMIT is none
      const rows = filter.user === undefined ? q.listAll.all(now, now, limit) : q.listOf.all(filter.user, now, now, limit);
      return { sessions: rows.map(toSession), total: rows[0]?.total ?? 0 };
    },
    async deleteSessions(selector: SessionSelector, options = {}) {
      return write((changed) => {
        checkActor(options.actor);
        const rows = 'user' in selector ? q.byUser.all(selector.user) : [('handle' in selector ? q.byHandle.get(selector.handle) : q.get.get(selector.idHash))].filter((r): r is SessionRow => r !== undefined);
        return end(rows, changed);
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
