/**
 * Basic credentials: a strict parser for the `Authorization: Basic` header (split at the FIRST
 * colon, so passwords may contain ":"), and a verifier with a short-lived cache of successful
 * checks.
 *
 * The cache key is an HMAC, under a per-process random secret, of the PARSED credentials (name
 * and NFC-normalised password), so every spelling of one credential (`basic`/`BASIC`, extra
 * spaces, non-canonical base64) is one entry and costs one hash; the plain password is never
 * kept, and a dump of the cache reveals nothing reusable.
 *
 * A check is answered from the user record as it is AFTER the hash (which may have waited in the
 * queue): a user deleted, demoted or given a new password meanwhile never gets the old answer.
 * Cached checks are dropped per user when a change touches that user (`invalidate(names)`), and
 * `isCurrent` tells a caller that waited again (e.g. for a signature) whether its identity still
 * holds.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Store, UserRecord } from '../store/index.js';
import { TooManyRequestsError, UnauthorizedError } from '../errors.js';
import { dummyPasswordHash, hashPassword, LOCAL_SLOT, needsRehash, verifyPassword, type HashSlot } from './password.js';
import type { HashQueue } from './hash-queue.js';
import type { CheckOutcome, LoginThrottle } from './throttle.js';
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
  /** Where hashes wait for their turn (default: the process's local queue, one lane). */
  hashes?: HashQueue;
}

/** Which user changes an answer has seen: it is stale once either number moves. */
interface Stamp {
  all: number;
  user: number;
}

interface CachedCheck {
  identity: Identity;
  stamp: Stamp;
}

/** How often a check re-reads a user that keeps changing under it before it gives up (401). */
const MAX_REREADS = 3;

export class PasswordVerifier {
  readonly #store: UserLookup;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #secret = randomBytes(32);
  readonly #cache: ExpiringLru<CachedCheck>;
  /** Checks in progress, so that concurrent requests with the same credentials hash once. */
  readonly #inflight = new Map<string, Promise<Identity | null>>();
  readonly #throttle: LoginThrottle | undefined;
  readonly #hashes: HashQueue | undefined;
  /** Moves on invalidate() of everyone. */
  #allEpoch = 0;
  /** Moves on invalidate([name]); only names ever changed while this process ran are here. */
  readonly #userEpochs = new Map<string, number>();
  /** The stamp each identity handed out was made under (isCurrent). */
  readonly #stamps = new WeakMap<Identity, Stamp>();

  constructor(options: PasswordVerifierOptions) {
    this.#store = options.store;
    // A change to a user drops that user's checks at once: the lifetime only bounds memory and re-hashing.
    this.#ttl = options.cacheTtlMs ?? 300_000;
    this.#cache = new ExpiringLru(options.cacheSize ?? 10_000);
    this.#now = options.now ?? Date.now;
    this.#throttle = options.throttle;
    this.#hashes = options.hashes;
  }

  #stampOf(name: string): Stamp {
    return { all: this.#allEpoch, user: this.#userEpochs.get(name) ?? 0 };
  }

  #fresh(name: string, stamp: Stamp): boolean {
    return stamp.all === this.#allEpoch && stamp.user === (this.#userEpochs.get(name) ?? 0);
  }

  /** The cache key of parsed credentials: never the password itself. */
  #keyOf(credentials: BasicCredentials): string {
    return createHmac('sha256', this.#secret).update(credentials.name).update('\0').update(credentials.password.normalize('NFC')).digest('base64');
  }

  #lookup(key: string): Identity | undefined {
    const hit = this.#cache.get(key, this.#now());
    if (hit === undefined) return undefined;
    if (this.#fresh(hit.identity.name, hit.stamp)) return hit.identity;
    this.#cache.delete(key, hit);
    return undefined;
  }

  /** The identity of a recent successful check of these credentials, or undefined: no hashing, no store. */
  cached(authorization: string): Identity | undefined {
    const credentials = parseBasicAuthorization(authorization);
    return credentials ? this.#lookup(this.#keyOf(credentials)) : undefined;
  }

  /** False once a change to the identity's user was seen after it was handed out (ask again). */
  isCurrent(identity: Identity): boolean {
    const stamp = this.#stamps.get(identity);
    return stamp === undefined || this.#fresh(identity.name, stamp);
  }

  /**
   * The caller's identity for an `Authorization: Basic` header value, or null for an unknown
   * user or a wrong password (same work either way). Throws UnauthorizedError (401) for a
   * malformed header, TooManyRequestsError (429) while the name or the client is throttled, and
   * LoginBusyError (503) when the password queue cannot take the check in time.
   */
  async verify(authorization: string, clientAddress = ''): Promise<Identity | null> {
    const credentials = parseBasicAuthorization(authorization);
    if (!credentials) throw new UnauthorizedError('malformed basic credentials');
    return this.verifyCredentials(credentials, clientAddress);
  }

  /** `verify` for credentials that came another way (the login form): the same cache, throttle, queue and timing. */
  async verifyCredentials(credentials: BasicCredentials, clientAddress = ''): Promise<Identity | null> {
    // A name no user can have still costs a full (failed, counted) check: the same time and throttle as any wrong name.
    if (credentials.name === '' || credentials.name.length > MAX_NAME || credentials.name.includes(':')) credentials = { name: '\0', password: credentials.password };
    const key = this.#keyOf(credentials);
    const hit = this.#lookup(key);
    if (hit) return hit;
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const check: Promise<Identity | null> = this.#check(key, credentials, clientAddress).finally(() => {
      if (this.#inflight.get(key) === check) this.#inflight.delete(key);
    });
    this.#inflight.set(key, check);
    return check;
  }

  #slot(clientAddress: string): HashSlot {
    const throttle = this.#throttle;
    if (!this.#hashes) return LOCAL_SLOT;
    const lane = throttle ? throttle.clientKey(clientAddress) : clientAddress;
    const group = throttle ? throttle.clientGroup(clientAddress) : lane;
    return { queue: this.#hashes, lane, group, priority: throttle?.isSuspect(clientAddress) ? 'suspect' : 'clean' };
  }

  async #check(key: string, credentials: BasicCredentials, clientAddress: string): Promise<Identity | null> {
    const throttle = this.#throttle;
    if (throttle) {
      const admission = await throttle.acquire(credentials.name, clientAddress);
      if (!admission.admitted) throw new TooManyRequestsError('too many logins; try again later', admission.retryAfterSeconds);
    }
    let outcome: CheckOutcome = 'error';
    let user: UserRecord | undefined;
    try {
      user = await this.#store.getUser(credentials.name);
      const hash = user?.passwordHash ?? (await dummyPasswordHash());
      const matches = await verifyPassword(credentials.password, hash, this.#slot(clientAddress));
      outcome = matches && user?.passwordHash ? 'succeeded' : 'failed';
    } finally {
      // A store failure or a full queue is nobody's wrong guess: only a completed check counts.
      throttle?.release(credentials.name, clientAddress, outcome);
    }
    if (outcome !== 'succeeded' || !user?.passwordHash) return null;
    if (needsRehash(user.passwordHash)) this.#upgrade(user.name, user.passwordHash, credentials.password);
    return this.#answer(key, user);
  }

  /**
   * The identity from the user record as it is now, after the wait: a user deleted or given a
   * new password since `verified` was read gets null, a demoted one its current roles.
   */
  async #answer(key: string, verified: UserRecord): Promise<Identity | null> {
    for (let read = 0; read < MAX_REREADS; read++) {
      const stamp = this.#stampOf(verified.name);
      const current = await this.#store.getUser(verified.name);
      if (!current || current.passwordHash === null || current.passwordVersion !== verified.passwordVersion) return null;
      // A change seen while reading: read again rather than answer with what may be the old record.
      if (!this.#fresh(verified.name, stamp)) continue;
      const identity: Identity = Object.freeze({ name: current.name, roles: Object.freeze([...current.roles]), via: 'basic', passwordVersion: current.passwordVersion });
      this.#stamps.set(identity, stamp);
      this.#cache.set(key, { identity, stamp }, this.#now() + this.#ttl);
      return identity;
    }
    return null;
  }

  /**
   * Re-hashes with the current parameters, in the background (the caller does not wait): an
   * unknown name is checked against a dummy hash with the current parameters, so until a user's
   * hash is upgraded, the time of a check tells that the name exists.
   */
  #upgrade(name: string, stored: string, password: string): void {
    const replace = this.#store.replacePasswordHash?.bind(this.#store);
    if (!replace) return;
    hashPassword(password, this.#hashes ? { queue: this.#hashes, lane: 'rehash', group: 'rehash', priority: 'suspect' } : LOCAL_SLOT)
      .then((replacement) => replace(name, stored, replacement))
      // Best effort: the old hash keeps working, and the next login tries again.
      .catch(() => undefined);
  }

  /**
   * Drops the cached checks of these users (every user when omitted): called when a change to
   * them is seen. Checks in progress for them re-read the user before they answer.
   */
  invalidate(names?: readonly string[]): void {
    if (names === undefined) {
      this.#allEpoch++;
      this.#cache.clear();
      this.#inflight.clear();
      return;
    }
    for (const name of names) this.#userEpochs.set(name, (this.#userEpochs.get(name) ?? 0) + 1);
    // Their cache entries are dropped lazily: #lookup sees the epoch moved. Checks in progress
    // stay joinable: #answer re-reads the user after the change.
  }
}
