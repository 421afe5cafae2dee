/**
 * Verified assertions, kept by the token itself for as long as verifying it again would accept
 * it (until its expiry plus the clock leeway, `graceMs`), and at most `maxAgeMs`, so a repeat
 * request costs a map lookup: `cached` answers synchronously on the request's hot path, `verify`
 * does the work once per token (concurrent callers with the same token share it). Bounded: the
 * least recently used token goes first. Failures are not kept here (a refused token costs a parse
 * and at most one signature check; key failures are kept by the key fetchers).
 *
 * `twinOf` names another spelling that stands for the same verified token (an ECDSA signature's
 * twin, alb-token.ts): a token whose twin is cached is answered from it, without a check of its
 * own and without an entry of its own.
 */
import { ExpiringLru } from '../../expiring-lru.js';

export interface AssertionCacheOptions {
  /** Tokens kept at most; each holds its claims, so keep it proportionate to active users. */
  maxEntries?: number;
  /** Upper bound on how long a verified token is kept, whatever its exp. */
  maxAgeMs?: number;
  /** How long after its expiry a token is still accepted (the verifier's clock leeway). */
  graceMs?: number;
  twinOf?: (token: string) => string | undefined;
  now?: () => number;
}

/**
 * Entries are found by the token's last characters (its signature: effectively random) and then
 * compared whole. A Map keyed by the whole token would hash its 600+ characters on every request
 * (V8 hashes a string per character; about 1 µs for an ALB token), more than the rest of the
 * lookup; a different token with the same tail is simply a miss.
 */
const KEY_CHARS = 32;
const keyOf = (token: string): string => token.slice(-KEY_CHARS);

export class AssertionCache<T extends { readonly expiresAt: number }> {
  readonly #verify: (token: string) => Promise<T>;
  readonly #entries: ExpiringLru<{ readonly token: string; readonly value: T }>;
  readonly #inFlight = new Map<string, Promise<T>>();
  readonly #maxAgeMs: number;
  readonly #graceMs: number;
  readonly #twinOf: ((token: string) => string | undefined) | undefined;
  readonly #now: () => number;

  constructor(verify: (token: string) => Promise<T>, options: AssertionCacheOptions = {}) {
    this.#verify = verify;
    this.#entries = new ExpiringLru(options.maxEntries ?? 2048);
    this.#maxAgeMs = options.maxAgeMs ?? 300_000;
    this.#graceMs = options.graceMs ?? 0;
    this.#twinOf = options.twinOf;
    this.#now = options.now ?? Date.now;
  }

  /** The result for a token verified before and not yet expired; no I/O, no crypto. */
  cached(token: string): T | undefined {
    const entry = this.#entries.get(keyOf(token), this.#now());
    return entry !== undefined && entry.token === token ? entry.value : undefined;
  }

  verify(token: string): Promise<T> {
    const hit = this.cached(token) ?? this.#cachedTwin(token);
    if (hit !== undefined) return Promise.resolve(hit);
    let pending = this.#inFlight.get(token);
    if (pending === undefined) {
      pending = this.#verify(token)
        .then((value) => {
          const now = this.#now();
          const acceptedUntil = value.expiresAt + this.#graceMs;
          if (acceptedUntil > now) this.#entries.set(keyOf(token), { token, value }, Math.min(acceptedUntil, now + this.#maxAgeMs));
          return value;
        })
        .finally(() => this.#inFlight.delete(token));
      this.#inFlight.set(token, pending);
    }
    return pending;
  }

  #cachedTwin(token: string): T | undefined {
    const twin = this.#twinOf?.(token);
    return twin === undefined ? undefined : this.cached(twin);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
