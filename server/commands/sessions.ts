/** `jwtgate sessions list|revoke|rotate-secret`: browser sessions, on the store directly (a running server sees a change within --poll-interval). */
import type { Config } from '../config.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { SessionManager, sessionListLimit } from '../sessions/index.js';
import type { SessionRecord, Store } from '../store/index.js';
import { auditCli, printJson, table, withStore } from './common.js';

type SessionsConfig = Pick<Config, 'dataDir' | 'auditLogFile' | 'sessionIdleTimeoutSeconds' | 'sessionMaxAgeSeconds'>;

const iso = (ms: number) => new Date(ms).toISOString();

function managerOf(store: Store, config: SessionsConfig): SessionManager {
  return new SessionManager({ store, idleTimeoutMs: config.sessionIdleTimeoutSeconds * 1000, maxAgeMs: config.sessionMaxAgeSeconds * 1000 });
}

const publicSession = (s: SessionRecord) => ({
  handle: s.handle,
  user: s.user,
  createdAt: iso(s.createdAt),
  lastSeenAt: iso(s.lastSeenAt),
  expiresAt: iso(Math.min(s.expiresAt, s.idleExpiresAt)),
  clientAddress: s.clientAddress,
  userAgent: s.userAgent,
});

export async function listSessionsCommand(config: SessionsConfig, flags: { user?: string; json?: boolean; limit?: string }): Promise<void> {
  const limit = sessionListLimit(flags.limit, '--limit');
  const page = await withStore(config, (store) => managerOf(store, config).list({ limit, ...(flags.user === undefined ? {} : { user: flags.user }) }));
  const sessions = page.sessions.map(publicSession);
  if (page.total > sessions.length) process.stderr.write(`jwtgate: warning: showing the newest ${sessions.length} of ${page.total} sessions (--limit)\n`);
  if (flags.json) return printJson(sessions);
  process.stdout.write(table([['HANDLE', 'USER', 'CREATED', 'LAST_SEEN', 'EXPIRES', 'CLIENT'], ...sessions.map((s) => [s.handle, s.user, s.createdAt, s.lastSeenAt, s.expiresAt, s.clientAddress])]));
}

export async function revokeSessionsCommand(config: SessionsConfig, handle: string | undefined, flags: { user?: string }): Promise<void> {
  if ((handle === undefined) === (flags.user === undefined)) throw new InvalidInputError('give a session handle, or --user NAME for all of a user\'s sessions');
  const ended = await withStore(config, (store) => managerOf(store, config).end(handle !== undefined ? { handle } : { user: flags.user! }));
  if (handle !== undefined && ended.length === 0) throw new NotFoundError(`no session ${JSON.stringify(handle)}`);
  for (const session of ended) auditCli(config, { action: 'session.revoke', target: session.handle, details: { user: session.user } });
  process.stdout.write(`ended ${ended.length} session${ended.length === 1 ? '' : 's'}\n`);
}

export async function rotateSessionSecretCommand(config: SessionsConfig): Promise<void> {
  const secret = await withStore(config, (store) => managerOf(store, config).rotateSecret());
  auditCli(config, { action: 'sessionsecret.rotate', target: secret.id });
  process.stdout.write(`${secret.id}\n`);
  process.stderr.write(`${secret.id} signs new session cookies now; the older secrets keep verifying existing sessions for --session-max-age (${config.sessionMaxAgeSeconds} s), then retire\n`);
}
