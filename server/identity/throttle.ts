/**
 * Failed-login throttling: at most `limit` failures per minute per user name and per client
 * address, then 429 with Retry-After until the window ends. Windows are short, so nobody is
 * locked out for long; a loopback client is never throttled by failures made by others against
 * the same user name (the local operator can always log in; the CLI resets passwords anyway).
 * A success only takes back its own reserved attempt: one valid account must not buy guesses at others.
 */
import { isLoopbackAddress } from './loopback.js';

interface Window {
  failures: number;
  resetAt: number;
}

export interface LoginThrottleOptions {
  limit: number;
  windowMs?: number;
  /** Bound on tracked keys; the oldest are forgotten first. */
  maxKeys?: number;
  now?: () => number;
}

export class LoginThrottle {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(options: LoginThrottleOptions) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Reserves one login attempt before the password is hashed (so that concurrent attempts are
   * counted too): returns the seconds to wait when the name or the address is over the limit
   * (nothing reserved), else 0 with the attempt counted as a failure until `refund` says it
   * succeeded.
   */
  reserve(name: string, clientAddress: string): number {
    const now = this.#now();
    // The per-name window does not apply to loopback clients: others cannot lock the local operator out.
    const keys = isLoopbackAddress(clientAddress) ? [`ip\0${clientAddress}`] : [`ip\0${clientAddress}`, `user\0${name}`];
    let wait = 0;
    for (const key of keys) {
      const w = this.#windows.get(key);
      if (w && w.resetAt > now && w.failures >= this.#limit) wait = Math.max(wait, Math.ceil((w.resetAt - now) / 1000));
    }
    if (wait > 0) return wait;
    for (const key of [`ip\0${clientAddress}`, `user\0${name}`]) {
      let w = this.#windows.get(key);
      if (!w || w.resetAt <= now) {
        w = { failures: 0, resetAt: now + this.#windowMs };
        this.#windows.delete(key);
        if (this.#windows.size >= this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value!);
        this.#windows.set(key, w);
      }
      w.failures++;
    }
    return 0;
  }

  /** The reserved attempt succeeded: it is not a failure. */
  refund(name: string, clientAddress: string): void {
    for (const key of [`ip\0${clientAddress}`, `user\0${name}`]) {
      const w = this.#windows.get(key);
      if (w && w.failures > 0) w.failures--;
    }
  }

  /** Forgets everything (e.g. after a password reset through the CLI). */
  clear(): void {
    this.#windows.clear();
  }
}
