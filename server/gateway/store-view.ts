/**
 * The running server's view of the shared state: proxy target, keys, caches. The hot path reads
 * these fields synchronously; `refresh` rebuilds them when the store's revision moves, which
 * happens immediately after a change through the admin API and within one poll interval after a
 * change by another process (the CLI). It also applies the key changes that fall due with time
 * (retirements, scheduled rotations; the rules are in tokens/key-lifecycle/), at the due time.
 */
import type { AuditLog } from '../audit.js';
import type { Config } from '../config.js';
import { HASH_CONCURRENCY, HashQueue, LoginThrottle, PasswordVerifier, UserDirectory, type HashSlot } from '../identity/index.js';
import type { Logger } from '../log.js';
import { parseTargetUrl, type TargetUrl } from '../proxy/index.js';
import { SessionManager } from '../sessions/index.js';
import type { Store } from '../store/index.js';
import { applyDueKeyChanges, keyChangeAudit, keyLifecycleOf, KeySet, nextKeyChange, TokenMinter, type KeyLifecycle, type KeyLifecycleConfig } from '../tokens/index.js';

export interface StoreViewOptions {
  store: Store;
  config: Pick<Config, 'issuer' | 'audience' | 'tokenTtlSeconds' | 'pollIntervalMs' | 'maxLoginFailures' | 'clockSkewSeconds' | 'loginMaxWaitMs' | 'ipv6PrefixBits' | 'sessionIdleTimeoutSeconds' | 'sessionMaxAgeSeconds' | 'maxSessionsPerUser'> & KeyLifecycleConfig;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Where a scheduled rotation is recorded (actor `scheduler`). */
  audit: AuditLog;
  now?: () => number;
}

/** Node timers take at most 2^31-1 ms; a later change is picked up by a later timer or poll. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class StoreView {
  target: TargetUrl | null = null;
  keys: KeySet;
  readonly minter: TokenMinter;
  readonly passwords: PasswordVerifier;
  readonly throttle: LoginThrottle;
  /** Users as sessions and tokens sent back need them: existence and current roles. */
  readonly users: UserDirectory;
  /** Browser sessions and the secrets that sign their cookies. */
  readonly sessions: SessionManager;
  /** Every password hash of this server waits here: logins, and new passwords set through the admin API. */
  readonly hashes: HashQueue;
  readonly #store: Store;
  readonly #log: StoreViewOptions['log'];
  readonly #now: () => number;
  readonly #pollIntervalMs: number;
  readonly #lifecycle: KeyLifecycle;
  readonly #audit: AuditLog;
  #revision = -1;
  /** When the keys next change by themselves (a retirement, a scheduled rotation), or null. */
  #nextKeyChange: number | null = null;
  #timer: NodeJS.Timeout | undefined;
  #keyTimer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  readonly #userListeners: ((names: readonly string[] | null) => void)[] = [];
  /** A reload asked for while one runs: it must start after it (that one may have read the store too early). */
  #followUp: Promise<void> | undefined;

  constructor(options: StoreViewOptions) {
    this.#store = options.store;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#pollIntervalMs = options.config.pollIntervalMs;
    this.#lifecycle = keyLifecycleOf(options.store, options.config, this.#now);
    this.#audit = options.audit;
    this.keys = new KeySet([], this.#now());
    this.minter = new TokenMinter({
      issuer: options.config.issuer,
      audience: options.config.audience,
      ttlSeconds: options.config.tokenTtlSeconds,
      clockSkewSeconds: options.config.clockSkewSeconds,
      now: this.#now,
    });
    this.throttle = new LoginThrottle({ limit: options.config.maxLoginFailures, ipv6PrefixBits: options.config.ipv6PrefixBits, now: this.#now });
    this.hashes = new HashQueue({ concurrency: HASH_CONCURRENCY, maxWaitMs: options.config.loginMaxWaitMs });
    this.passwords = new PasswordVerifier({ store: options.store, now: this.#now, throttle: this.throttle, hashes: this.hashes });
    this.users = new UserDirectory({ store: options.store, now: this.#now });
    this.sessions = new SessionManager({
      store: options.store,
      now: this.#now,
      idleTimeoutMs: options.config.sessionIdleTimeoutSeconds * 1000,
      maxAgeMs: options.config.sessionMaxAgeSeconds * 1000,
      maxPerUser: options.config.maxSessionsPerUser,
      onError: (err) => this.#log.warn({ err: (err as Error).message }, 'session write failed'),
    });
  }

  /** A place in this server's hash queue, for a hash that is not a login (e.g. a new password). */
  hashSlot(lane: string): HashSlot {
    return { queue: this.hashes, lane, group: lane, priority: 'clean' };
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
    const firstLoad = this.#revision === -1;
    // A retirement or a scheduled rotation due: apply it (any process may; the store makes a
    // rotation happen once). On the first load too: it may have fallen due while no server ran.
    const due = firstLoad || (this.#nextKeyChange !== null && this.#nextKeyChange <= now);
    if (due) await this.#applyDueKeyChanges();
    const revision = await this.#store.revision();
    if (revision === this.#revision && !due) {
      // A key timer that fired a little early: arm it again rather than wait for a poll.
      this.#armKeyTimer(now);
      return;
    }
    const seen = this.#revision;
    this.#revision = revision;

    const url = await this.#store.getProxyUrl();
    try {
      this.target = url === null ? null : parseTargetUrl(url);
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'the stored proxy URL is invalid; the proxy is disabled');
      this.target = null;
    }

    const records = await this.#store.listKeys();
    const keys = new KeySet(records, now, this.#lifecycle.encryption);
    this.#nextKeyChange = nextKeyChange(records, this.#lifecycle.policy);
    this.#armKeyTimer(now);
    if (keys.fingerprint !== this.keys.fingerprint) {
      // The first load is no change: a restart finds the key the previous run signed with.
      if (!firstLoad && keys.active?.kid !== this.keys.active?.kid) this.#log.info({ kid: keys.active?.kid ?? null, previous: this.keys.active?.kid ?? null }, 'signing key changed');
      this.keys = keys;
      this.minter.setKey(keys.active);
    }
    // A secret another process added (sessions rotate-secret) verifies here from now on.
    await this.sessions.loadSecrets();
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
      this.users.invalidate();
      this.sessions.invalidate(null);
      this.throttle.clear();
    } else {
      if (changed.users.length > 0) {
        this.passwords.invalidate(changed.users);
        this.users.invalidate(changed.users);
        this.throttle.forget(changed.users);
      }
      if (changed.sessions.length + changed.users.length > 0) this.sessions.invalidate(changed.sessions, changed.users);
    }
    if (changed === null || changed.users.length > 0) for (const listener of this.#userListeners) listener(changed?.users ?? null);
  }

  /** Calls `listener` after a refresh saw changes to these users (null: possibly anyone), e.g. to close their tunnels. */
  onUsersChanged(listener: (names: readonly string[] | null) => void): void {
    this.#userListeners.push(listener);
  }

  async #applyDueKeyChanges(): Promise<void> {
    const scheduled = await applyDueKeyChanges(this.#lifecycle);
    if (!scheduled) return;
    if ('rotatedElsewhere' in scheduled) {
      this.#log.info('scheduled key rotation done by another process');
      return;
    }
    const rotation = scheduled.rotated;
    const every = this.#lifecycle.policy.rotateEverySeconds;
    this.#audit.record({ actor: 'scheduler', action: 'key.rotate', target: rotation.active.kid, details: { ...keyChangeAudit(rotation, 'scheduled'), rotateEverySeconds: every } });
    this.#log.info({ kid: rotation.active.kid, next: rotation.next.kid, rotateEverySeconds: every }, 'scheduled key rotation');
  }

  /** A timer for the next key change, so that replicas apply it when due, not a poll later. */
  #armKeyTimer(now: number): void {
    clearTimeout(this.#keyTimer);
    this.#keyTimer = undefined;
    if (!this.#timer || this.#nextKeyChange === null) return;
    this.#keyTimer = setTimeout(() => {
      this.refresh().catch((err: unknown) => this.#log.error({ err: (err as Error).message }, 'key change failed'));
    }, Math.min(Math.max(0, this.#nextKeyChange - now), MAX_TIMER_MS));
    this.#keyTimer.unref();
  }

  /** Polls the store for changes made by other processes. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.#log.error({ err: (err as Error).message }, 'store refresh failed'));
    }, this.#pollIntervalMs);
    this.#timer.unref();
    this.#armKeyTimer(this.#now());
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#keyTimer);
    this.#timer = undefined;
    this.#keyTimer = undefined;
  }
}
