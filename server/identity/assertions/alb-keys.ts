/**
 * The ALB's public keys: one PEM per `kid`, fetched from the regional key server (or a URL
 * template for GovCloud and tests). A slow or unreachable key server gives a 503 after the
 * timeout, never a hang.
 *
 * A trusted peer can send tokens with made-up kids (any UUID passes the format check), and on
 * AWS even kids the key server does serve (any account's ALB keys are there). So what such tokens
 * can cost is bounded, and what they can never touch is the keys that have signed for this ALB:
 * - A fetched key is on probation (a small cache of its own) until a token signed by this ALB
 *   (its `signer` checked before the fetch) verifies with it; then it is confirmed (`confirm`),
 *   in a cache that only other confirmed keys can evict. Another account's keys never verify
 *   such a token, so they can only ever evict each other.
 * - A key never changes under its kid: once `keyTtlMs` has passed, a confirmed key is still used
 *   while it is fetched again in the background (a key server that then says 404 withdraws it;
 *   one that is down changes nothing), so a known kid never waits on the key server.
 * - Failures (unknown kid, key server down) are remembered for `failureTtlMs` in a separate,
 *   bounded cache, so a repeated unknown kid costs one fetch per few seconds.
 * - Fetches for kids not seen before go through KidAdmission (alb-key-admission.ts): a few at
 *   once, a few a second, the kid most requests wait for first, 503 after a short wait.
 *
 * Global fetch is used on purpose: this path runs once per kid, and it loads undici's fetch only
 * when it first runs (the server's start-up imports undici's Agent alone; see forwarder.ts).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { ExpiringLru } from '../../expiring-lru.js';
import { AssertionKeysUnavailableError, InvalidAssertionError } from '../../errors.js';
import { KidAdmission } from './alb-key-admission.js';

/** What AWS hands out as a kid; checked before the kid is put into a URL. */
export const ALB_KID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A PEM public key is a few hundred bytes; anything much larger is not one. */
const MAX_KEY_BYTES = 16 * 1024;

export interface AlbKeyFetcherOptions {
  /** `https://host/path/{kid}`: `{kid}` is replaced by the (already validated) kid. */
  keyUrlTemplate: string;
  /** Per fetch, headers and body together (3 s). */
  timeoutMs?: number;
  /** After this long a confirmed key is fetched again in the background, still used meanwhile (6 h); a key on probation is dropped. */
  keyTtlMs?: number;
  /** Lifetime of a failed fetch (unknown kid, key server down) (10 s). */
  failureTtlMs?: number;
  /** Confirmed keys remembered (64; an ALB uses a handful). */
  maxKeys?: number;
  /** Keys on probation remembered (16). */
  maxProbation?: number;
  /** Failed kids remembered (1024). */
  maxFailures?: number;
  /** Fetches for new kids running at once (4). */
  maxConcurrentFetches?: number;
  /** Sustained rate of fetches for new kids (1 a second), */
  newKidsPerSecond?: number;
  /** and the burst allowed above it (10). */
  newKidBurst?: number;
  /** How long a request for a new kid waits for its fetch to start (1000 ms). */
  newKidMaxWaitMs?: number;
  now?: () => number;
}

/** What verifyAlbAssertion needs: a key per kid, and a way to say the key verified a token of this ALB. */
export interface AlbKeySource {
  keyFor(kid: string): Promise<KeyObject>;
  confirm(kid: string, key: KeyObject): void;
}

interface KnownKey {
  readonly key: KeyObject;
  /** ms since epoch: a confirmed key is fetched again in the background from then on; a key on probation expires. */
  refreshAt: number;
}

type FetchError = InvalidAssertionError | AssertionKeysUnavailableError;

export function albKeyUrl(template: string, kid: string): string {
  return template.replaceAll('{kid}', encodeURIComponent(kid));
}

export class AlbKeyFetcher implements AlbKeySource {
  readonly #template: string;
  readonly #timeoutMs: number;
  readonly #keyTtlMs: number;
  readonly #failureTtlMs: number;
  readonly #now: () => number;
  readonly #confirmed: ExpiringLru<KnownKey>;
  readonly #probation: ExpiringLru<KnownKey>;
  readonly #failures: ExpiringLru<FetchError>;
  readonly #admission: KidAdmission;
  readonly #refreshing = new Set<string>();

  constructor(options: AlbKeyFetcherOptions) {
    this.#template = options.keyUrlTemplate;
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#keyTtlMs = options.keyTtlMs ?? 6 * 3600_000;
    this.#failureTtlMs = options.failureTtlMs ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#confirmed = new ExpiringLru(options.maxKeys ?? 64);
    this.#probation = new ExpiringLru(options.maxProbation ?? 16);
    this.#failures = new ExpiringLru(options.maxFailures ?? 1024);
    this.#admission = new KidAdmission({
      maxConcurrent: options.maxConcurrentFetches,
      perSecond: options.newKidsPerSecond,
      burst: options.newKidBurst,
      maxWaitMs: options.newKidMaxWaitMs,
      now: this.#now,
    });
  }

  /**
   * The P-256 key published under `kid`. Rejects with InvalidAssertionError (bad or unknown kid)
   * or AssertionKeysUnavailableError (key server slow, down, answering nonsense, or too many new
   * kids asked about at once).
   */
  keyFor(kid: string): Promise<KeyObject> {
    if (!ALB_KID.test(kid)) return Promise.reject(new InvalidAssertionError('kid', 'the assertion has an invalid key id'));
    const now = this.#now();
    const confirmed = this.#confirmed.get(kid, now);
    if (confirmed !== undefined) {
      if (now >= confirmed.refreshAt && !this.#refreshing.has(kid)) this.#refresh(kid, confirmed);
      return Promise.resolve(confirmed.key);
    }
    const onProbation = this.#probation.get(kid, now);
    if (onProbation !== undefined) return Promise.resolve(onProbation.key);
    const failure = this.#failures.get(kid, now);
    if (failure !== undefined) return Promise.reject(failure);
    return this.#admission.admit(kid, () => this.#fetchNew(kid));
  }

  /** `key` verified a token of this ALB: it leaves probation for the confirmed keys. */
  confirm(kid: string, key: KeyObject): void {
    const now = this.#now();
    const onProbation = this.#probation.get(kid, now);
    if (onProbation === undefined || onProbation.key !== key) return;
    this.#probation.delete(kid, onProbation);
    this.#confirmed.set(kid, onProbation, Infinity);
  }

  async #fetchNew(kid: string): Promise<KeyObject> {
    try {
      const key = await this.#download(kid);
      const expiresAt = this.#now() + this.#keyTtlMs;
      this.#probation.set(kid, { key, refreshAt: expiresAt }, expiresAt);
      return key;
    } catch (err) {
      const error = this.#asFetchError(err);
      this.#failures.set(kid, error, this.#now() + this.#failureTtlMs);
      throw error;
    }
  }

  /** Fetches a confirmed key again, in the background; only a definite "no such key" withdraws it. */
  #refresh(kid: string, known: KnownKey): void {
    known.refreshAt = this.#now() + this.#failureTtlMs;
    this.#refreshing.add(kid);
    this.#download(kid).then(
      (key) => {
        // The same kid at the same key server: the key it gives now is this ALB's key as before.
        if (this.#confirmed.get(kid, this.#now()) === known) this.#confirmed.set(kid, { key, refreshAt: this.#now() + this.#keyTtlMs }, Infinity);
      },
      (err: unknown) => {
        if (!(err instanceof InvalidAssertionError)) return;
        this.#confirmed.delete(kid, known);
        this.#failures.set(kid, err, this.#now() + this.#failureTtlMs);
      },
    ).finally(() => this.#refreshing.delete(kid));
  }

  #asFetchError(err: unknown): FetchError {
    return err instanceof InvalidAssertionError || err instanceof AssertionKeysUnavailableError
      ? err
      : new AssertionKeysUnavailableError("the load balancer's key server cannot be reached", this.#failureTtlMs / 1000, { cause: err });
  }

  async #download(kid: string): Promise<KeyObject> {
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
