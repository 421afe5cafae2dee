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
 *
 * Successful checks count too, per user name: a success is cached (basic.ts), so a name that
 * needs more than SUCCESS_FACTOR × `limit` full checks a minute is someone spending the
 * gateway's CPU on purpose (e.g. with one valid account), and is refused like a failing one.
 *
 * Addresses are counted by client key (client-key.ts): an IPv6 client by its prefix.
 */
import { clientGroupOf, clientKeyOf } from './client-key.js';
import { isLoopbackAddress } from '../ip-address.js';

/** How an admitted check ended: `error` (the store failed) counts against nobody. */
export type CheckOutcome = 'failed' | 'succeeded' | 'error';

interface Window {
  failures: number;
  /** Successful full checks (per-name windows only count them). */
  successes: number;
  /** Address windows: the names the failures were against, while few ('many' beyond MAX_NAMES_TRACKED). */
  failedNames?: Set<string> | 'many';
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
  /** IPv6 clients are counted by this prefix length (default 64). */
  ipv6PrefixBits?: number;
  now?: () => number;
}

/** What `acquire` grants: run the check (then call `release`), or refuse with Retry-After seconds. */
export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly retryAfterSeconds: number };

const ADMITTED: Admission = Object.freeze({ admitted: true });

/** Successful full checks per user name and window: this many times the failure limit. */
export const SUCCESS_FACTOR = 3;

/** Failures in a window after which a client's checks queue behind others' (hash-queue.ts). */
export const SUSPECT_AFTER = 3;

/** An address that failed against more names than this is not someone who forgot one password. */
const MAX_NAMES_TRACKED = 4;

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
  readonly #ipv6PrefixBits: number;
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
    this.#ipv6PrefixBits = options.ipv6PrefixBits ?? 64;
  }

  /** The client an address counts as (its IPv6 prefix); also the password queue's lane. */
  clientKey(clientAddress: string): string {
    return clientKeyOf(clientAddress, this.#ipv6PrefixBits);
  }

  /** The network of a client (IPv4 /24, IPv6 /48): the password queue's fairness group. */
  clientGroup(clientAddress: string): string {
    return clientGroupOf(clientAddress, this.#ipv6PrefixBits);
  }

  /**
   * True when this client failed SUSPECT_AFTER times (or `limit`, if smaller) in its current
   * window: the password queue serves it after others. One typo does not make a person suspect.
   */
  isSuspect(clientAddress: string): boolean {
    const w = this.#windows.get(`ip\0${this.clientKey(clientAddress)}`);
    return w !== undefined && w.resetAt > this.#now() && w.failures >= Math.min(SUSPECT_AFTER, this.#limit);
  }

  /** Both windows an attempt counts in (a loopback client's failures still count against the name). */
  #countedKeys(name: string, clientAddress: string): string[] {
    return [`ip\0${this.clientKey(clientAddress)}`, `user\0${name}`];
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
      w = { failures: 0, successes: 0, inflight: w?.inflight ?? 0, resetAt: now + this.#windowMs };
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
      if (w.failures >= this.#limit || w.successes >= SUCCESS_FACTOR * this.#limit) wait = Math.max(wait, Math.ceil((w.resetAt - now) / 1000));
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

  /**
   * Ends an admitted attempt. A failed one (wrong password, unknown user) counts against the name
   * and the address; a successful one against the name only.
   */
  release(name: string, clientAddress: string, outcome: CheckOutcome): void {
    const now = this.#now();
    const keys = this.#countedKeys(name, clientAddress);
    for (const key of keys) {
      const w = this.#windows.get(key);
      if (!w) continue;
      if (w.inflight > 0) w.inflight--;
      const current = w.resetAt > now ? w : this.#window(key, now);
      if (outcome === 'failed') {
        current.failures++;
        if (key.startsWith('ip\0')) current.failedNames = noteName(current.failedNames, name);
      } else if (outcome === 'succeeded' && key.startsWith('user\0')) {
        current.successes++;
      }
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

  /**
   * Forgets what was counted against these user names (their password was reset, they were
   * deleted): their name windows, and the windows of addresses whose failures were all against
   * them (someone who forgot their password, then had it reset, logs in at once). Checks in
   * progress stay counted.
   */
  forget(names: readonly string[]): void {
    const forgotten = new Set(names);
    const keys = names.map((name) => `user\0${name}`);
    for (const [key, w] of this.#windows) {
      if (key.startsWith('ip\0') && w.failedNames instanceof Set && [...w.failedNames].every((n) => forgotten.has(n))) keys.push(key);
    }
    for (const key of keys) this.#reset(key);
    this.#wake(keys);
  }

  /** Forgets every window's count; checks in progress stay counted. */
  clear(): void {
    for (const key of [...this.#windows.keys()]) this.#reset(key);
    this.#wake();
  }

  #reset(key: string): void {
    const w = this.#windows.get(key);
    if (!w) return;
    if (w.inflight === 0) this.#windows.delete(key);
    else {
      w.failures = w.successes = 0;
      delete w.failedNames;
    }
  }
}

function noteName(names: Set<string> | 'many' | undefined, name: string): Set<string> | 'many' {
  if (names === 'many') return names;
  const set = names ?? new Set<string>();
  set.add(name);
  return set.size > MAX_NAMES_TRACKED ? 'many' : set;
}
