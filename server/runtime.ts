/**
 * The running server's view of the shared state: proxy target, keys, caches. The hot path reads
 * these fields synchronously; `refresh` rebuilds them when the store's revision moves, which
 * happens immediately after a change through the admin API and within one poll interval after a
 * change by another process (the CLI).
 */
import type { Config } from './config.js';
import { HASH_CONCURRENCY, HashQueue, LoginThrottle, PasswordVerifier, type HashSlot } from './identity/index.js';
import type { Logger } from './log.js';
import { parseTargetUrl, type TargetUrl } from './proxy/index.js';
import type { Store } from './store/index.js';
import { keyEncryptionOf } from './keys.js';
import { KeySet, TokenMinter, type KeyEncryption } from './tokens/index.js';

export interface RuntimeOptions {
  store: Store;
  config: Pick<Config, 'issuer' | 'audience' | 'tokenTtlSeconds' | 'pollIntervalMs' | 'keyEncryptionKey' | 'maxLoginFailures' | 'loginMaxWaitMs' | 'ipv6PrefixBits'>;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => number;
}

export class Runtime {
  target: TargetUrl | null = null;
  keys: KeySet;
  readonly minter: TokenMinter;
  readonly passwords: PasswordVerifier;
  readonly throttle: LoginThrottle;
  /** Every password hash of this server waits here: logins, and new passwords set through the admin API. */
  readonly hashes: HashQueue;
  readonly #store: Store;
  readonly #log: RuntimeOptions['log'];
  readonly #now: () => number;
  readonly #pollIntervalMs: number;
  readonly #encryption: KeyEncryption | null;
  #revision = -1;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  /** A reload asked for while one runs: it must start after it (that one may have read the store too early). */
  #followUp: Promise<void> | undefined;

  constructor(options: RuntimeOptions) {
    this.#store = options.store;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#pollIntervalMs = options.config.pollIntervalMs;
    this.#encryption = keyEncryptionOf(options.config);
    this.keys = new KeySet([], this.#now());
    this.minter = new TokenMinter({
      issuer: options.config.issuer,
      audience: options.config.audience,
      ttlSeconds: options.config.tokenTtlSeconds,
      now: this.#now,
    });
    this.throttle = new LoginThrottle({ limit: options.config.maxLoginFailures, ipv6PrefixBits: options.config.ipv6PrefixBits, now: this.#now });
    this.hashes = new HashQueue({ concurrency: HASH_CONCURRENCY, maxWaitMs: options.config.loginMaxWaitMs });
    this.passwords = new PasswordVerifier({ store: options.store, now: this.#now, throttle: this.throttle, hashes: this.hashes });
  }

  /** A place in this server's hash queue, for a hash that is not a login (e.g. a new password). */
  hashSlot(lane: string): HashSlot {
    return { queue: this.hashes, lane, priority: 'clean' };
  }

  /**
   * Reloads whatever changed in the store; resolves once every write made before the call is
   * seen. A call while a reload runs gets the next reload (that one may have read the store
   * before the caller's write); calls meanwhile share it.
   */
  refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#followUp ??= this.#refreshing
        .catch(() => undefined)
        .then(() => {
          this.#followUp = undefined;
          return this.refresh();
        });
      return this.#followUp;
    }
    this.#refreshing = this.#reload().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #reload(): Promise<void> {
    const now = this.#now();
    // A pending key due to sign, or a retiring key past its notAfter: apply it (any process may).
    // On the first load too: a transition may have fallen due while no server was running.
    const due = this.#revision === -1 || (this.keys.nextChange !== null && this.keys.nextChange <= now);
    if (due) await this.#store.advanceKeys(now);
    const revision = await this.#store.revision();
    if (revision === this.#revision && !due) return;
    const seen = this.#revision;
    this.#revision = revision;

    const url = await this.#store.getProxyUrl();
    try {
      this.target = url === null ? null : parseTargetUrl(url);
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'the stored proxy URL is invalid; the proxy is disabled');
      this.target = null;
    }

    const keys = new KeySet(await this.#store.listKeys(), now, this.#encryption);
    if (keys.fingerprint !== this.keys.fingerprint) {
      if (keys.active?.kid !== this.keys.active?.kid) this.#log.info({ kid: keys.active?.kid ?? null }, 'signing key changed');
      this.keys = keys;
      this.minter.setKey(keys.active);
    }
    if (seen !== -1) await this.#forgetChangedUsers(seen);
  }

  /**
   * Users changed since `seen` lose their cached password checks (so the next request sees the
   * change), and a password reset (e.g. `jwtgate users set NAME --password-stdin`) lifts their
   * throttle; other users keep theirs. Cached tokens need no clearing: they are keyed by name
   * and roles, and only a current identity reaches them.
   */
  async #forgetChangedUsers(seen: number): Promise<void> {
    const changed = await this.#store.changesSince(seen);
    if (changed === null) {
      this.passwords.invalidate();
      this.throttle.clear();
    } else if (changed.users.length > 0) {
      this.passwords.invalidate(changed.users);
      this.throttle.forget(changed.users);
    }
  }

  /** Polls the store for changes made by other processes. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.#log.error({ err: (err as Error).message }, 'store refresh failed'));
    }, this.#pollIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
