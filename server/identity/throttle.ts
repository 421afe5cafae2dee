/**
 * Failed-login throttling: at most `limit` failures per minute per user name and per client
 * address, then 429 with Retry-After until the window ends. Windows are short, so nobody is
 * locked out for long; a loopback client is never throttled by failures made by others against
 * the same user name (the local operator can always log in; the CLI resets passwords anyway).
 *
 * Checks in progress count against the budget: with 3 failures left, at most 3 passwords are
 * hashed at once for that name/address, so a burst of concurrent guesses gets no more tries than
 * a sequence would. Further attempts wait (they are not refused) until a check in progress ends:
 * if it failed, the budget shrinks and waiters over it get 429; if it succeeded, the next waiter
 * runs. So many users behind one address (a NAT, the benchmark) all log in, a few at a time.
 */
import { isLoopbackAddress } from './loopback.js';

interface Window {
  failures: number;
  /** Checks in progress (reserved, not yet known to fail or succeed). */
  inflight: number;
  resetAt: number;
}

export interface LoginThrottleOptions {
  limit: number;
  windowMs?: number;
  /** Bound on tracked keys; the oldest are forgotten first. */
  maxKeys?: number;
  /** Bound on attempts waiting for a check in progress; beyond it an attempt is refused (429). */
  maxWaiting?: number;
  /** How long an attempt waits for checks in progress before it is refused (429), ms. */
  maxWaitMs?: number;
  now?: () => number;
}

/** What `acquire` grants: run the check (then call `release`), or refuse with Retry-After seconds. */
export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly retryAfterSeconds: number };

const ADMITTED: Admission = Object.freeze({ admitted: true });

interface Waiter {
  name: string;
  clientAddress: string;
  /** The windows it waits on (those that decide its admission). */
  keys: string[];
  timer: NodeJS.Timeout;
  resolve: (admission: Admission) => void;
}

const WAITED_TOO_LONG: Admission = Object.freeze({ admitted: false, retryAfterSeconds: 1 });

export class LoginThrottle {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #maxWaiting: number;
  readonly #maxWaitMs: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();
  /** Waiting attempts per window key: a release wakes only the attempts that wait on its windows. */
  readonly #waiting = new Map<string, Set<Waiter>>();
  #waitingCount = 0;

  constructor(options: LoginThrottleOptions) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#maxWaiting = options.maxWaiting ?? 10_000;
    this.#maxWaitMs = options.maxWaitMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  /** Both windows an attempt counts in (a loopback client's failures still count against the name). */
  #countedKeys(name: string, clientAddress: string): string[] {
    return [`ip\0${clientAddress}`, `user\0${name}`];
  }

  /** The windows that decide an attempt's admission. */
  #keys(name: string, clientAddress: string): string[] {
    // The per-name window does not apply to loopback clients: others cannot lock the local operator out.
    const counted = this.#countedKeys(name, clientAddress);
    return isLoopbackAddress(clientAddress) ? counted.slice(0, 1) : counted;
  }

  #window(key: string, now: number): Window {
    let w = this.#windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { failures: 0, inflight: w?.inflight ?? 0, resetAt: now + this.#windowMs };
      this.#windows.delete(key);
      if (this.#windows.size >= this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value!);
      this.#windows.set(key, w);
    }
    return w;
  }

  /** Admission now, or null when the budget is held by checks in progress (wait for one to end). */
  #tryAcquire(name: string, clientAddress: string): Admission | null {
    const now = this.#now();
    const keys = this.#keys(name, clientAddress);
    let wait = 0;
    let busy = false;
    for (const key of keys) {
      const w = this.#windows.get(key);
      if (!w || w.resetAt <= now) continue;
      if (w.failures >= this.#limit) wait = Math.max(wait, Math.ceil((w.resetAt - now) / 1000));
      else if (w.failures + w.inflight >= this.#limit) busy = true;
    }
    if (wait > 0) return { admitted: false, retryAfterSeconds: wait };
    if (busy) return null;
    for (const key of this.#countedKeys(name, clientAddress)) this.#window(key, now).inflight++;
    return ADMITTED;
  }

  /**
   * Reserves one login attempt before the password is hashed. Resolves to "admitted" (then call
   * `release` with the outcome), or to a refusal with the seconds until the window ends.
   */
  acquire(name: string, clientAddress: string): Promise<Admission> {
    const now = this.#tryAcquire(name, clientAddress);
    if (now !== null) return Promise.resolve(now);
    if (this.#waitingCount >= this.#maxWaiting) return Promise.resolve(WAITED_TOO_LONG);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        name,
        clientAddress,
        keys: this.#keys(name, clientAddress),
        // A check that never ends (a hung store) must not hold its waiters for ever.
        timer: setTimeout(() => this.#finish(waiter, WAITED_TOO_LONG), this.#maxWaitMs),
        resolve,
      };
      waiter.timer.unref();
      for (const key of waiter.keys) {
        let set = this.#waiting.get(key);
        if (!set) this.#waiting.set(key, (set = new Set()));
        set.add(waiter);
      }
      this.#waitingCount++;
    });
  }

  #finish(waiter: Waiter, admission: Admission): void {
    clearTimeout(waiter.timer);
    for (const key of waiter.keys) {
      const set = this.#waiting.get(key);
      set?.delete(waiter);
      if (set?.size === 0) this.#waiting.delete(key);
    }
    this.#waitingCount--;
    waiter.resolve(admission);
  }

  /** Ends an admitted attempt; a failed one (wrong password, unknown user) counts against the name and the address. */
  release(name: string, clientAddress: string, failed: boolean): void {
    const now = this.#now();
    const keys = this.#countedKeys(name, clientAddress);
    for (const key of keys) {
      const w = this.#windows.get(key);
      if (!w) continue;
      if (w.inflight > 0) w.inflight--;
      if (failed) (w.resetAt > now ? w : this.#window(key, now)).failures++;
    }
    this.#wake(keys);
  }

  /** Re-examines the attempts waiting on `keys` (all of them when omitted), oldest first. */
  #wake(keys?: string[]): void {
    if (this.#waitingCount === 0) return;
    const sets = keys ? keys.map((key) => this.#waiting.get(key)) : [...this.#waiting.values()];
    const candidates = new Set<Waiter>();
    for (const set of sets) if (set) for (const waiter of set) candidates.add(waiter);
    for (const waiter of candidates) {
      const admission = this.#tryAcquire(waiter.name, waiter.clientAddress);
      if (admission !== null) this.#finish(waiter, admission);
    }
  }

  /** Forgets every failure (e.g. after a password reset through the CLI); checks in progress stay counted. */
  clear(): void {
    for (const [key, w] of this.#windows) {
      if (w.inflight === 0) this.#windows.delete(key);
      else w.failures = 0;
    }
    this.#wake();
  }
}
