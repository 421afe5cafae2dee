/**
 * The ALB's public keys: one PEM per `kid`, fetched from the regional key server (or a URL
 * template for GovCloud and tests). Concurrent callers for one kid share one fetch; a slow or
 * unreachable key server gives a 503 after the timeout, never a hang.
 *
 * A trusted peer can send tokens with made-up kids (any UUID passes the format check), so what a
 * stream of them can cost is bounded, and what it can never touch is the keys already known:
 * - Keys live in their own cache, which only other fetched keys can evict (an attacker cannot
 *   make the key server return a key). A key never changes under its kid: once `keyTtlMs` has
 *   passed it is still used while it is fetched again in the background (a key server that then
 *   says 404 withdraws it; one that is down changes nothing), so a known kid never waits on the
 *   key server and never fails because of it.
 * - Failures (unknown kid, key server down) are remembered for `failureTtlMs` in a separate,
 *   bounded cache, so a repeated unknown kid costs one fetch per few seconds.
 * - Fetches for kids not seen before are limited to `maxConcurrentFetches` at once and a token
 *   bucket (`newKidsPerSecond`, burst `newKidBurst`); beyond either, the request gets a 503
 *   (ERR_ASSERTION_KEYS_UNAVAILABLE, Retry-After 1) without any fetch. A flood of made-up kids
 *   thus costs the key server a few requests a second and known users nothing; a genuine new
 *   kid (the ALB rotated its key) arriving during such a flood may see that 503 until it wins a
 *   token.
 *
 * Global fetch is used on purpose: this path runs once per kid, and it loads undici's fetch only
 * when it first runs (the server's start-up imports undici's Agent alone; see forwarder.ts).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { ExpiringLru } from '../../expiring-lru.js';
import { AssertionKeysUnavailableError, InvalidAssertionError } from '../../errors.js';

/** What AWS hands out as a kid; checked before the kid is put into a URL. */
export const ALB_KID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A PEM public key is a few hundred bytes; anything much larger is not one. */
const MAX_KEY_BYTES = 16 * 1024;

export interface AlbKeyFetcherOptions {
  /** `https://host/path/{kid}`: `{kid}` is replaced by the (already validated) kid. */
  keyUrlTemplate: string;
  /** Per fetch, headers and body together (3 s). */
  timeoutMs?: number;
  /** After this long a key is fetched again in the background, still used meanwhile (6 h). */
  keyTtlMs?: number;
  /** Lifetime of a failed fetch (unknown kid, key server down) (10 s). */
  failureTtlMs?: number;
  /** Keys remembered (64; an ALB uses a handful). */
  maxKeys?: number;
  /** Failed kids remembered (1024). */
  maxFailures?: number;
  /** Fetches for new kids running at once (4). */
  maxConcurrentFetches?: number;
  /** Sustained rate of fetches for new kids (1 a second), */
  newKidsPerSecond?: number;
  /** and the burst allowed above it (10). */
  newKidBurst?: number;
  now?: () => number;
}

interface KnownKey {
  readonly key: KeyObject;
  /** ms since epoch: from then on, the next use fetches the key again in the background. */
  refreshAt: number;
}

type FetchError = InvalidAssertionError | AssertionKeysUnavailableError;

export function albKeyUrl(template: string, kid: string): string {
  return template.replaceAll('{kid}', encodeURIComponent(kid));
}

/** A token bucket: `take` succeeds at most `burst` times at once and `perSecond` times a second on average. */
class TokenBucket {
  readonly #perSecond: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(perSecond: number, burst: number, now: number) {
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  take(now: number): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, now - this.#at) / 1000) * this.#perSecond);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export class AlbKeyFetcher {
  readonly #template: string;
  readonly #timeoutMs: number;
  readonly #keyTtlMs: number;
  readonly #failureTtlMs: number;
  readonly #maxConcurrent: number;
  readonly #now: () => number;
  readonly #keys: ExpiringLru<KnownKey>;
  readonly #failures: ExpiringLru<FetchError>;
  readonly #newKids: TokenBucket;
  readonly #inFlight = new Map<string, Promise<KeyObject>>();
  #newKidFetches = 0;
  #fetches = 0;

  constructor(options: AlbKeyFetcherOptions) {
    this.#template = options.keyUrlTemplate;
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#keyTtlMs = options.keyTtlMs ?? 6 * 3600_000;
    this.#failureTtlMs = options.failureTtlMs ?? 10_000;
    this.#maxConcurrent = options.maxConcurrentFetches ?? 4;
    this.#now = options.now ?? Date.now;
    this.#keys = new ExpiringLru(options.maxKeys ?? 64);
    this.#failures = new ExpiringLru(options.maxFailures ?? 1024);
    this.#newKids = new TokenBucket(options.newKidsPerSecond ?? 1, options.newKidBurst ?? 10, this.#now());
  }

  /** HTTP requests made so far (for tests and metrics). */
  get fetches(): number {
    return this.#fetches;
  }

  /**
   * The P-256 key published under `kid`. Rejects with InvalidAssertionError (bad or unknown kid)
   * or AssertionKeysUnavailableError (key server slow, down, answering nonsense, or too many new
   * kids asked about at once).
   */
  keyFor(kid: string): Promise<KeyObject> {
    if (!ALB_KID.test(kid)) return Promise.reject(new InvalidAssertionError('kid', 'the assertion has an invalid key id'));
    const now = this.#now();
    const known = this.#keys.get(kid, now);
    if (known !== undefined) {
      if (now >= known.refreshAt && !this.#inFlight.has(kid)) this.#refresh(kid, known);
      return Promise.resolve(known.key);
    }
    const failure = this.#failures.get(kid, now);
    if (failure !== undefined) return Promise.reject(failure);
    const pending = this.#inFlight.get(kid);
    if (pending !== undefined) return pending;
    if (this.#newKidFetches >= this.#maxConcurrent || !this.#newKids.take(now)) {
      return Promise.reject(new AssertionKeysUnavailableError('is being asked about too many new key ids at once; try again shortly', 1));
    }
    this.#newKidFetches++;
    const fetched = this.#fetchNew(kid).finally(() => {
      this.#newKidFetches--;
      this.#inFlight.delete(kid);
    });
    this.#inFlight.set(kid, fetched);
    return fetched;
  }

  async #fetchNew(kid: string): Promise<KeyObject> {
    try {
      const key = await this.#download(kid);
      this.#keys.set(kid, { key, refreshAt: this.#now() + this.#keyTtlMs }, Infinity);
      return key;
    } catch (err) {
      const error = this.#asFetchError(err);
      this.#failures.set(kid, error, this.#now() + this.#failureTtlMs);
      throw error;
    }
  }

  /** Fetches a known key again, in the background; only a definite "no such key" withdraws it. */
  #refresh(kid: string, known: KnownKey): void {
    known.refreshAt = this.#now() + this.#failureTtlMs;
    const refreshed = this.#download(kid).then(
      (key) => {
        this.#keys.set(kid, { key, refreshAt: this.#now() + this.#keyTtlMs }, Infinity);
        return key;
      },
      (err: unknown) => {
        if (!(err instanceof InvalidAssertionError)) return known.key;
        this.#keys.delete(kid, known);
        this.#failures.set(kid, err, this.#now() + this.#failureTtlMs);
        throw err;
      },
    ).finally(() => this.#inFlight.delete(kid));
    // Nobody awaits a refresh unless a caller comes while it runs; a withdrawal is not an unhandled rejection.
    refreshed.catch(() => undefined);
    this.#inFlight.set(kid, refreshed);
  }

  #asFetchError(err: unknown): FetchError {
    return err instanceof InvalidAssertionError || err instanceof AssertionKeysUnavailableError
      ? err
      : new AssertionKeysUnavailableError("the load balancer's key server cannot be reached", this.#failureTtlMs / 1000, { cause: err });
  }

  async #download(kid: string): Promise<KeyObject> {
    this.#fetches++;
    const url = albKeyUrl(this.#template, kid);
    const unavailable = (what: string, cause?: unknown) =>
      new AssertionKeysUnavailableError(`the load balancer's key server ${what}`, this.#failureTtlMs / 1000, { cause });
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let response: Response;
    try {
      // A key server has no reason to redirect; following one would let it send us anywhere.
      response = await fetch(url, { signal, redirect: 'error', headers: { accept: 'application/x-pem-file, text/plain' } });
    } catch (err) {
      throw signal.aborted ? unavailable(`did not answer within ${this.#timeoutMs} ms`, err) : unavailable('cannot be reached', err);
    }
    if (response.status === 403 || response.status === 404 || response.status === 410) {
      // AWS's key buckets answer 403 or 404 for a kid they never issued.
      await response.body?.cancel();
      throw new InvalidAssertionError('unknown-kid', 'the assertion is signed with an unknown key');
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw unavailable(`answered ${response.status}`);
    }
    let pem: string;
    try {
      pem = await readLimited(response, MAX_KEY_BYTES);
    } catch (err) {
      throw signal.aborted ? unavailable(`did not answer within ${this.#timeoutMs} ms`, err) : unavailable('sent an unreadable answer', err);
    }
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (err) {
      throw unavailable('sent something that is not a public key', err);
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw unavailable('sent a key that is not a P-256 key');
    }
    return key;
  }
}

async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new Error(`more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
