/**
 * Basic credentials: a strict parser for the `Authorization: Basic` header (split at the FIRST
 * colon, so passwords may contain ":"), and a verifier with a short-lived cache of successful
 * checks. The cache key is an HMAC of the whole header value under a per-process random secret:
 * the plain password is never kept, a dump of the cache reveals nothing reusable, and a repeat
 * request costs one HMAC and a map lookup (no base64 decoding, no parsing, no scrypt).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Store, UserRecord } from '../store/index.js';
import { TooManyRequestsError, UnauthorizedError } from '../errors.js';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './password.js';
import type { LoginThrottle } from './throttle.js';
import type { Identity } from './identity.js';
import { ExpiringLru } from '../expiring-lru.js';

export interface BasicCredentials {
  name: string;
  password: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** No user can have a longer name (names.ts); refusing early also bounds the throttle's keys. */
const MAX_NAME = 128;

/** Returns null when the header is not a well-formed Basic authorization. */
export function parseBasicAuthorization(header: string): BasicCredentials | null {
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'basic') return null;
  const encoded = header.slice(space + 1).trim();
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return null;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon > MAX_NAME) return null;
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

type UserLookup = Pick<Store, 'getUser'> & Partial<Pick<Store, 'replacePasswordHash'>>;

export interface PasswordVerifierOptions {
  /** With `replacePasswordHash`, hashes made with older parameters are upgraded on a successful login. */
  store: UserLookup;
  /** How long a successful check is reused, ms. */
  cacheTtlMs?: number;
  /** Bound of the cache (least recently used entries go first). */
  cacheSize?: number;
  now?: () => number;
  /** Failed-login throttle; none in unit tests that do not need one. */
  throttle?: LoginThrottle;
}

export class PasswordVerifier {
  readonly #store: UserLookup;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #secret = randomBytes(32);
  readonly #cache: ExpiringLru<Identity>;
  /** Checks in progress, so that concurrent requests with the same credentials hash once. */
  readonly #inflight = new Map<string, Promise<Identity | null>>();
  readonly #throttle: LoginThrottle | undefined;
  #generation = 0;

  constructor(options: PasswordVerifierOptions) {
    this.#store = options.store;
    // Any user change empties the cache at once, so the lifetime only bounds memory and re-hashing.
    this.#ttl = options.cacheTtlMs ?? 300_000;
    this.#cache = new ExpiringLru(options.cacheSize ?? 10_000);
    this.#now = options.now ?? Date.now;
    this.#throttle = options.throttle;
  }

  /** The cache key of an Authorization header value: never the header itself. */
  #keyOf(authorization: string): string {
    return createHmac('sha256', this.#secret).update(authorization).digest('base64');
  }

  #lookup(key: string): Identity | undefined {
    return this.#cache.get(key, this.#now());
  }

  /** The identity of a recent successful check of exactly this header value, or undefined: no hashing, no store. */
  cached(authorization: string): Identity | undefined {
    return this.#lookup(this.#keyOf(authorization));
  }

  /**
   * The caller's identity for an `Authorization: Basic` header value, or null for an unknown
   * user or a wrong password (same work either way). Throws UnauthorizedError (401) for a
   * malformed header and TooManyRequestsError (429) while the name or the client address is
   * throttled.
   */
  async verify(authorization: string, clientAddress = ''): Promise<Identity | null> {
    const key = this.#keyOf(authorization);
    const hit = this.#lookup(key);
    if (hit) return hit;
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const credentials = parseBasicAuthorization(authorization);
    if (!credentials) throw new UnauthorizedError('malformed basic credentials');
    const check: Promise<Identity | null> = this.#check(key, credentials, clientAddress).finally(() => {
      if (this.#inflight.get(key) === check) this.#inflight.delete(key);
    });
    this.#inflight.set(key, check);
    return check;
  }

  async #check(key: string, credentials: BasicCredentials, clientAddress: string): Promise<Identity | null> {
    const throttle = this.#throttle;
    if (throttle) {
      const admission = await throttle.acquire(credentials.name, clientAddress);
      if (!admission.admitted) throw new TooManyRequestsError('too many failed logins; try again later', admission.retryAfterSeconds);
    }
    const generation = this.#generation;
    let failed = false;
    let user: UserRecord | undefined;
    try {
      user = await this.#store.getUser(credentials.name);
      const hash = user?.passwordHash ?? (await dummyPasswordHash());
      failed = !(await verifyPassword(credentials.password, hash)) || !user?.passwordHash;
    } finally {
      // A store failure is nobody's wrong guess: only a completed check that failed counts.
      throttle?.release(credentials.name, clientAddress, failed);
    }
    if (failed || !user?.passwordHash) return null;
    if (needsRehash(user.passwordHash)) this.#upgrade(user.name, user.passwordHash, credentials.password);
    const identity: Identity = Object.freeze({ name: user.name, roles: Object.freeze([...user.roles]), via: 'basic' });
    // A user change while we were hashing makes this result stale: return it, do not cache it.
    if (generation === this.#generation) {
      this.#cache.set(key, identity, this.#now() + this.#ttl);
    }
    return identity;
  }

  /**
   * Re-hashes with the current parameters, in the background (the caller does not wait): an
   * unknown name is checked against a dummy hash with the current parameters, so until a user's
   * hash is upgraded, the time of a check tells that the name exists.
   */
  #upgrade(name: string, stored: string, password: string): void {
    const replace = this.#store.replacePasswordHash?.bind(this.#store);
    if (!replace) return;
    hashPassword(password)
      .then((replacement) => replace(name, stored, replacement))
      // Best effort: the old hash keeps working, and the next login tries again.
      .catch(() => undefined);
  }

  /** Drops every cached check: called on any user change. */
  invalidate(): void {
    this.#generation++;
    this.#cache.clear();
    // A check that started before the change may have read the old record: nobody joins it now.
    this.#inflight.clear();
  }
}
