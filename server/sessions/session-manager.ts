/**
 * Browser sessions: created at login, held in the store (by the SHA-256 of their id, with a
 * random handle for administrators), ended by logout, by an administrator, by a change to
 * their user (the store ends them with a new password or a deletion), or by newer logins of
 * their user beyond --max-sessions-per-user (the store ends the oldest as it adds the new one).
 *
 * The hot path never reads the store: a session, once looked up, stays in a bounded cache that
 * the store's change log invalidates (`invalidate`), like the credential cache. Activity is
 * written back at most once a minute per session (`touch`), so the idle expiry is exact to a
 * minute; a cached session that looks idle-expired is read again before it is refused (another
 * replica may have seen it since).
 */
import { randomBytes } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import { ExpiringLru } from '../expiring-lru.js';
import type { SessionFilter, SessionPage, SessionRecord, SessionSecretRecord, SessionSelector, Store } from '../store/index.js';
import { decodeCookieValue, encodeCookieValue, newSessionId, sessionIdHash, type SessionSecretKey } from './cookie.js';

export interface SessionSettings {
  /** A session unused this long ends, ms. */
  idleTimeoutMs: number;
  /** A session ends this long after its login, whatever its use, ms. */
  maxAgeMs: number;
}

type SessionStore = Pick<Store, 'createSession' | 'getSession' | 'touchSession' | 'listSessions' | 'deleteSessions' | 'pruneSessions' | 'listSessionSecrets' | 'addSessionSecret'>;

export interface SessionManagerOptions extends SessionSettings {
  store: SessionStore;
  /** --max-sessions-per-user: a login beyond it ends its user's oldest sessions. None: no cap (the CLI, which makes no sessions). */
  maxPerUser?: number;
  now?: () => number;
  cacheSize?: number;
  /** Where a failed background write (touch, prune) is reported. */
  onError?: (err: unknown) => void;
}

/** A session as the gateway uses it (its record, and when it ends). */
export interface LiveSession {
  readonly record: SessionRecord;
  /** The earlier of its idle and absolute expiry, ms since epoch. */
  readonly expiresAt: number;
}

/** Activity is written to the store at most this often per session (and at least 4 times per idle timeout). */
const TOUCH_EVERY_MS = 60_000;
/** How long "no such session" is remembered (a revoked or expired cookie sent again and again). */
const GONE_FOR_MS = 60_000;
/** At most one reload of the secrets per this long, for cookies signed by a secret not known yet. */
const SECRET_RELOAD_MS = 1000;

/** How many sessions a listing (GET /admin/sessions, `sessions list`) shows by default, and at most. */
export const SESSION_LIST_LIMIT = { default: 1000, max: 10_000 } as const;

/** The `limit` of a listing (`?limit=`, `--limit`): an integer from 1 to the maximum; `name` names it in the error. */
export function sessionListLimit(raw: unknown, name: string): number {
  if (raw === undefined) return SESSION_LIST_LIMIT.default;
  const n = typeof raw === 'string' && /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= SESSION_LIST_LIMIT.max)) throw new InvalidInputError(`${name} must be an integer from 1 to ${SESSION_LIST_LIMIT.max}, got ${JSON.stringify(raw)}`);
  return n;
}

export class SessionManager {
  readonly settings: SessionSettings;
  readonly #store: SessionStore;
  readonly #maxPerUser: number | undefined;
  readonly #now: () => number;
  readonly #onError: (err: unknown) => void;
  /** idHash → the session, or null for "no such session" (briefly). */
  readonly #cache: ExpiringLru<LiveSession | null>;
  #secrets: ReadonlyMap<string, SessionSecretKey> = new Map();
  /**
   * Cookie values whose signature checked out, with their id hash: a repeat request costs a map
   * lookup instead of an HMAC and a SHA-256 (what a cookie proves depends only on the secrets,
   * so the map is emptied whenever they are read again).
   */
  readonly #verifiedCookies: ExpiringLru<string>;
  #signing: SessionSecretKey | null = null;
  #secretsLoadedAt = 0;
  #secretsLoading: Promise<void> | undefined;
  /** Moves on every invalidation: a lookup that raced one is not cached. */
  #epoch = 0;
  readonly #endListeners: ((keys: readonly string[] | null) => void)[] = [];

  constructor(options: SessionManagerOptions) {
    this.settings = { idleTimeoutMs: options.idleTimeoutMs, maxAgeMs: options.maxAgeMs };
    this.#store = options.store;
    this.#maxPerUser = options.maxPerUser;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => undefined);
    this.#cache = new ExpiringLru(options.cacheSize ?? 10_000);
    this.#verifiedCookies = new ExpiringLru(options.cacheSize ?? 10_000);
  }

  /** (Re)reads the session secrets from the store; the newest signs. */
  async loadSecrets(): Promise<void> {
    const records = await this.#store.listSessionSecrets(this.#now());
    const keys = new Map<string, SessionSecretKey>(records.map((r: SessionSecretRecord) => [r.id, { id: r.id, key: Buffer.from(r.secret, 'base64url') }]));
    this.#secrets = keys;
    this.#verifiedCookies.clear();
    this.#signing = records[0] ? keys.get(records[0].id)! : null;
    this.#secretsLoadedAt = this.#now();
  }

  /** Makes sure a secret exists (first start); returns whether one was created. */
  async ensureSecret(): Promise<boolean> {
    const created = await this.#store.addSessionSecret(newSecret(this.#now()), this.#now(), { onlyIfNone: true });
    await this.loadSecrets();
    return created;
  }

  /**
   * A new secret signs from now on; the older ones keep verifying until the oldest session
   * signed with them could have ended (the session max age), then they retire.
   */
  async rotateSecret(): Promise<SessionSecretRecord> {
    const secret = newSecret(this.#now());
    await this.#store.addSessionSecret(secret, this.#now() + this.settings.maxAgeMs);
    await this.loadSecrets();
    return secret;
  }

  /**
   * A new session for `user`: always a fresh id (never one the client brought). Returns the
   * cookie value, and the user's oldest sessions it ended to stay within the cap (`evicted`).
   */
  async create(user: string, client: { address: string; userAgent: string }): Promise<{ cookieValue: string; session: LiveSession; evicted: SessionRecord[] }> {
    if (!this.#signing) await this.loadSecrets();
    const secret = this.#signing;
    if (!secret) throw new Error('no session secret in the store');
    const now = this.#now();
    const id = newSessionId();
    const record: SessionRecord = {
      idHash: sessionIdHash(id),
      handle: randomBytes(9).toString('base64url'),
      user,
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: now + this.settings.idleTimeoutMs,
      expiresAt: now + this.settings.maxAgeMs,
      clientAddress: client.address,
      userAgent: client.userAgent.slice(0, 512),
    };
    const evicted = await this.#store.createSession(record, this.#maxPerUser === undefined ? {} : { maxPerUser: this.#maxPerUser });
    // Ended here: gone from this process at once (other processes read the store's change log).
    if (evicted.length > 0) this.invalidate(evicted.map((s) => s.idHash));
    const session = this.#live(record);
    this.#cache.set(record.idHash, session, Math.min(session.expiresAt, now + this.settings.idleTimeoutMs));
    return { cookieValue: encodeCookieValue(secret, id), session, evicted };
  }

  #live(record: SessionRecord): LiveSession {
    return Object.freeze({ record, expiresAt: Math.min(record.idleExpiresAt, record.expiresAt) });
  }

  /** The id hash of a cookie value signed by a known secret; null when it is not (forged, or a secret this process does not know yet). */
  idHashOf(cookieValue: string): string | null {
    const verified = this.#verifiedCookies.get(cookieValue, 0);
    if (verified !== undefined) return verified;
    const id = decodeCookieValue(cookieValue, this.#secrets);
    if (id === null) return null;
    const idHash = sessionIdHash(id);
    this.#verifiedCookies.set(cookieValue, idHash, Infinity);
    return idHash;
  }

  /**
   * The session without waiting: a live cached one, or null for one known to be gone; undefined
   * when `lookup` has to work (not cached, looks expired, or signed by a secret not known yet).
   */
  known(cookieValue: string): LiveSession | null | undefined {
    const idHash = this.idHashOf(cookieValue);
    if (idHash === null) return undefined;
    const hit = this.#cache.get(idHash, this.#now());
    if (hit === undefined || hit === null) return hit;
    if (hit.expiresAt <= this.#now()) return undefined;
    this.#touch(hit);
    return hit;
  }

  /** The live session of a cookie value, or null (forged, ended, expired). */
  async lookup(cookieValue: string): Promise<LiveSession | null> {
    let idHash = this.idHashOf(cookieValue);
    if (idHash === null && this.#now() - this.#secretsLoadedAt >= SECRET_RELOAD_MS) {
      // Signed by a secret another process just added? Read them again (at most once a second).
      this.#secretsLoading ??= this.loadSecrets().finally(() => (this.#secretsLoading = undefined));
      await this.#secretsLoading;
      idHash = this.idHashOf(cookieValue);
    }
    if (idHash === null) return null;
    const epoch = this.#epoch;
    const record = await this.#store.getSession(idHash);
    const now = this.#now();
    const session = record ? this.#live(record) : null;
    const live = session !== null && session.expiresAt > now ? session : null;
    // A change seen while the store was read (an ended session?) wins: neither cache nor touch.
    if (epoch !== this.#epoch) return live;
    this.#cache.set(idHash, live, live ? live.expiresAt : now + GONE_FOR_MS);
    if (live) this.#touch(live);
    return live;
  }

  /** Records activity, at most once a minute per session; the store write is not waited for. */
  #touch(session: LiveSession): void {
    const now = this.#now();
    if (now - session.record.lastSeenAt < Math.min(TOUCH_EVERY_MS, this.settings.idleTimeoutMs / 4)) return;
    const idleExpiresAt = Math.min(now + this.settings.idleTimeoutMs, session.record.expiresAt);
    const touched = this.#live({ ...session.record, lastSeenAt: now, idleExpiresAt });
    // Only the session the cache holds is touched: one dropped meanwhile stays dropped.
    if (this.#cache.get(session.record.idHash, now) !== session) return;
    this.#cache.set(session.record.idHash, touched, touched.expiresAt);
    this.#store.touchSession(session.record.idHash, now, idleExpiresAt).catch(this.#onError);
  }

  /** True while this process still holds the session as live (isCurrent of its identities). */
  isLive(idHash: string): boolean {
    const hit = this.#cache.get(idHash, this.#now());
    return hit !== null && hit !== undefined;
  }

  /** Ends sessions; returns them. Invalidates this process's cache at once (others: at their next refresh). */
  async end(selector: SessionSelector, options: Parameters<Store['deleteSessions']>[1] = {}): Promise<SessionRecord[]> {
    const ended = await this.#store.deleteSessions(selector, options);
    this.invalidate(ended.map((s) => s.idHash));
    return ended;
  }

  /** The live sessions, newest first, at most `limit` (default SESSION_LIST_LIMIT.default), and how many there are. */
  list(filter: SessionFilter = {}): Promise<SessionPage> {
    return this.#store.listSessions(this.#now(), { ...filter, limit: filter.limit ?? SESSION_LIST_LIMIT.default });
  }

  /**
   * Calls `listener` with the keys (SessionInfo.key) of sessions seen ending, here or in another
   * process (null: possibly any), e.g. to close their tunnels.
   */
  onEnded(listener: (keys: readonly string[] | null) => void): void {
    this.#endListeners.push(listener);
  }

  /** Drops sessions (by id hash) from the cache, every one when null; users' sessions with `users`. */
  invalidate(idHashes: readonly string[] | null, users: readonly string[] = []): void {
    this.#epoch++;
    if (idHashes === null) {
      this.#cache.clear();
      for (const listener of this.#endListeners) listener(null);
      return;
    }
    for (const idHash of idHashes) this.#cache.delete(idHash);
    if (users.length > 0) this.#cache.deleteWhere((session) => session !== null && users.includes(session.record.user));
    if (idHashes.length > 0) for (const listener of this.#endListeners) listener(idHashes);
  }

  /** Removes expired sessions from the store (housekeeping). */
  prune(): Promise<number> {
    return this.#store.pruneSessions(this.#now());
  }
}

function newSecret(now: number): SessionSecretRecord {
  return { id: randomBytes(6).toString('base64url'), secret: randomBytes(32).toString('base64url'), createdAt: now, retiresAt: null };
}
