/**
 * Which fetches of kids never seen before may run (alb-keys.ts). A trusted peer can send tokens
 * with made-up kids, and nothing tells a made-up kid from a genuine new one (the ALB rotated its
 * key) until its key is fetched. So fetches for new kids are limited (at most `maxConcurrent` at
 * once, and a token bucket: `perSecond` on average, `burst` at once), and when no fetch may start,
 * a request waits up to `maxWaitMs` for one, with every other request for the same kid.
 *
 * When a fetch may start, it goes to the most wanted kid: the one asked for by the most requests
 * over the last 10 s (waiting now or not: a client that retries after a 503 counts each time),
 * the oldest on a tie. After a rotation every user's request asks for the one new kid, while a
 * flood of made-up kids asks for each a few times (a fetched one is then a remembered failure):
 * the genuine kid wins unless the attacker sends more requests for one made-up kid than the
 * users send for the genuine one. At most `maxWaiting` kids wait; a new one takes the place of
 * the least wanted (the oldest on a tie), whose requests get the 503 at once.
 * A request that waited `maxWaitMs` gets 503 ERR_ASSERTION_KEYS_UNAVAILABLE (Retry-After 1).
 */
import type { KeyObject } from 'node:crypto';
import { AssertionKeysUnavailableError } from '../../errors.js';
import { ExpiringLru } from '../../expiring-lru.js';

/** How long the requests for a kid count towards its turn, and how many kids are counted. */
const ASKS_TTL_MS = 10_000;
const ASKS_KEPT = 4096;

export interface KidAdmissionOptions {
  /** Fetches for new kids running at once (4). */
  maxConcurrent?: number;
  /** Sustained rate of fetches for new kids (1 a second), */
  perSecond?: number;
  /** and the burst allowed above it (10). */
  burst?: number;
  /** How long a request waits for its kid's fetch to start (1000 ms). */
  maxWaitMs?: number;
  /** Kids waiting at most (256). */
  maxWaiting?: number;
  now?: () => number;
}

interface Waiter {
  resolve: (key: KeyObject) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

interface WaitingKid {
  readonly kid: string;
  readonly fetch: () => Promise<KeyObject>;
  readonly waiters: Set<Waiter>;
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

  #refill(now: number): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, now - this.#at) / 1000) * this.#perSecond);
    this.#at = now;
  }

  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until `take` can succeed. */
  msUntilToken(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.#perSecond) * 1000);
  }
}

const busy = () => new AssertionKeysUnavailableError('is being asked about too many new key ids at once; try again shortly', 1);

export class KidAdmission {
  readonly #maxConcurrent: number;
  readonly #maxWaitMs: number;
  readonly #maxWaiting: number;
  readonly #now: () => number;
  readonly #bucket: TokenBucket;
  readonly #waiting = new Map<string, WaitingKid>();
  /** Requests for each kid not yet fetched over the last ASKS_TTL_MS: its claim to the next fetch. */
  readonly #asks = new ExpiringLru<number>(ASKS_KEPT);
  /** Fetches running, by kid: later requests for the kid share them. */
  readonly #fetching = new Map<string, Promise<KeyObject>>();
  #pumpTimer: NodeJS.Timeout | undefined;

  constructor(options: KidAdmissionOptions = {}) {
    this.#maxConcurrent = options.maxConcurrent ?? 4;
    this.#maxWaitMs = options.maxWaitMs ?? 1000;
    this.#maxWaiting = options.maxWaiting ?? 256;
    this.#now = options.now ?? Date.now;
    this.#bucket = new TokenBucket(options.perSecond ?? 1, options.burst ?? 10, this.#now());
  }

  /**
   * The key of `kid` from `fetch`: shares the kid's running fetch, or starts one now if a fetch
   * may start and no other kid waits, or waits for the kid's turn with the other requests for it;
   * rejects with a 503 when its turn does not come within maxWaitMs.
   */
  admit(kid: string, fetch: () => Promise<KeyObject>): Promise<KeyObject> {
    const running = this.#fetching.get(kid);
    if (running !== undefined) return running;
    const now = this.#now();
    this.#asks.set(kid, (this.#asks.get(kid, now) ?? 0) + 1, now + ASKS_TTL_MS);
    if (this.#waiting.size === 0 && this.#fetching.size < this.#maxConcurrent && this.#bucket.take(now)) return this.#start(kid, fetch);
    return new Promise<KeyObject>((resolve, reject) => {
      let entry = this.#waiting.get(kid);
      if (entry === undefined) {
        if (this.#waiting.size >= this.#maxWaiting) this.#dropLeastWanted();
        entry = { kid, fetch, waiters: new Set() };
        this.#waiting.set(kid, entry);
      }
      const waiting = entry;
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          waiting.waiters.delete(waiter);
          if (waiting.waiters.size === 0 && this.#waiting.get(kid) === waiting) this.#waiting.delete(kid);
          reject(busy());
        }, this.#maxWaitMs),
      };
      waiting.waiters.add(waiter);
      this.#pump();
    });
  }

  #start(kid: string, fetch: () => Promise<KeyObject>): Promise<KeyObject> {
    const fetched = fetch().finally(() => {
      this.#fetching.delete(kid);
      this.#pump();
    });
    this.#fetching.set(kid, fetched);
    return fetched;
  }

  /** Starts the fetches that may start, most wanted kid first; then waits for the next token if kids still wait. */
  #pump(): void {
    // The scan for the most wanted kid only when a fetch may start: a flood adds waiters far more often than tokens come.
    while (this.#waiting.size > 0 && this.#fetching.size < this.#maxConcurrent && this.#bucket.msUntilToken(this.#now()) === 0) {
      const next = this.#mostWanted();
      this.#bucket.take(this.#now());
      this.#waiting.delete(next.kid);
      const waiters = [...next.waiters];
      for (const waiter of waiters) clearTimeout(waiter.timer);
      this.#start(next.kid, next.fetch).then(
        (key) => waiters.forEach((w) => w.resolve(key)),
        (err: unknown) => waiters.forEach((w) => w.reject(err)),
      );
    }
    this.#schedule();
  }

  /** While kids wait and a fetch slot is free, wakes up when the bucket has its next token. */
  #schedule(): void {
    if (this.#pumpTimer !== undefined || this.#waiting.size === 0 || this.#fetching.size >= this.#maxConcurrent) return;
    this.#pumpTimer = setTimeout(() => {
      this.#pumpTimer = undefined;
      this.#pump();
    }, this.#bucket.msUntilToken(this.#now()));
  }

  /** How much `entry`'s kid is wanted: the requests for it over the last ASKS_TTL_MS (a sequential client's retries count), at least those waiting. */
  #wanted(entry: WaitingKid): number {
    return Math.max(entry.waiters.size, this.#asks.get(entry.kid, this.#now()) ?? 0);
  }

  #mostWanted(): WaitingKid {
    let best: WaitingKid | undefined;
    let bestWanted = 0;
    // Map order is arrival order: on a tie the first one met, the oldest, stays.
    for (const entry of this.#waiting.values()) {
      const wanted = this.#wanted(entry);
      if (best === undefined || wanted > bestWanted) [best, bestWanted] = [entry, wanted];
    }
    return best!;
  }

  /** Makes room: the kid fewest requests wait for (the oldest on a tie) stops waiting; its requests get the 503 now. */
  #dropLeastWanted(): void {
    let least: WaitingKid | undefined;
    let leastWanted = Infinity;
    for (const entry of this.#waiting.values()) {
      const wanted = this.#wanted(entry);
      if (wanted < leastWanted) [least, leastWanted] = [entry, wanted];
    }
    if (least === undefined) return;
    this.#waiting.delete(least.kid);
    for (const waiter of least.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(busy());
    }
  }
}
