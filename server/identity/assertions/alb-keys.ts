/**
 * The ALB's public keys: one PEM per `kid`, fetched from the regional key server (or a URL
 * template for GovCloud and tests). Keys never change under a kid, so a fetched key is kept for a
 * long time; a failure is kept briefly, so an outage or a stream of unknown kids costs one request
 * per kid per few seconds instead of one per client request. Concurrent callers for one kid share
 * one fetch. A slow or unreachable key server gives a 503 after the timeout, never a hang.
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
  /** Per fetch, headers and body together. */
  timeoutMs?: number;
  /** Lifetime of a fetched key. */
  keyTtlMs?: number;
  /** Lifetime of a failed fetch (unknown kid, key server down). */
  failureTtlMs?: number;
  /** Distinct kids remembered (keys and failures together). */
  maxKids?: number;
  now?: () => number;
}

type Slot = { kind: 'key'; key: KeyObject } | { kind: 'failure'; error: InvalidAssertionError | AssertionKeysUnavailableError };

export function albKeyUrl(template: string, kid: string): string {
  return template.replaceAll('{kid}', encodeURIComponent(kid));
}

export class AlbKeyFetcher {
  readonly #template: string;
  readonly #timeoutMs: number;
  readonly #keyTtlMs: number;
  readonly #failureTtlMs: number;
  readonly #now: () => number;
  readonly #slots: ExpiringLru<Slot>;
  readonly #inFlight = new Map<string, Promise<KeyObject>>();
  #fetches = 0;

  constructor(options: AlbKeyFetcherOptions) {
    this.#template = options.keyUrlTemplate;
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#keyTtlMs = options.keyTtlMs ?? 6 * 3600_000;
    this.#failureTtlMs = options.failureTtlMs ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#slots = new ExpiringLru(options.maxKids ?? 256);
  }

  /** HTTP requests made so far (for tests and metrics). */
  get fetches(): number {
    return this.#fetches;
  }

  /**
   * The P-256 key published under `kid`. Rejects with InvalidAssertionError (bad or unknown kid)
   * or AssertionKeysUnavailableError (key server slow, down, or answering nonsense).
   */
  keyFor(kid: string): Promise<KeyObject> {
    if (!ALB_KID.test(kid)) return Promise.reject(new InvalidAssertionError('kid', 'the assertion has an invalid key id'));
    const slot = this.#slots.get(kid, this.#now());
    if (slot?.kind === 'key') return Promise.resolve(slot.key);
    if (slot?.kind === 'failure') return Promise.reject(slot.error);
    let pending = this.#inFlight.get(kid);
    if (pending === undefined) {
      pending = this.#fetch(kid).finally(() => this.#inFlight.delete(kid));
      this.#inFlight.set(kid, pending);
    }
    return pending;
  }

  async #fetch(kid: string): Promise<KeyObject> {
    this.#fetches++;
    try {
      const key = await this.#download(albKeyUrl(this.#template, kid));
      this.#slots.set(kid, { kind: 'key', key }, this.#now() + this.#keyTtlMs);
      return key;
    } catch (err) {
      const error = err instanceof InvalidAssertionError || err instanceof AssertionKeysUnavailableError
        ? err
        : new AssertionKeysUnavailableError("the load balancer's key server cannot be reached", this.#failureTtlMs / 1000, { cause: err });
      this.#slots.set(kid, { kind: 'failure', error }, this.#now() + this.#failureTtlMs);
      throw error;
    }
  }

  async #download(url: string): Promise<KeyObject> {
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
