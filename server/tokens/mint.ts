/**
 * Minting the RS512 JWT that carries the caller's identity to the upstream. RSA signing costs
 * ~0.4 ms of CPU, so tokens are cached per (kid, user, roles) and re-minted once less than
 * `refreshMargin` of their lifetime is left: the upstream always receives a token with at least
 * that margin to live. The cache is bounded (LRU) and cleared on key or user changes.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Identity } from '../identity/index.js';
import type { SigningKey } from './keyset.js';
import { NoSigningKeyError } from '../errors.js';
import { ExpiringLru } from '../expiring-lru.js';

export interface MintOptions {
  issuer: string;
  audience: string | null;
  ttlSeconds: number;
  /** `nbf` is this many seconds before `iat`: a verifier whose clock is behind ours still accepts a fresh token. */
  clockSkewSeconds: number;
  /** ms since epoch; injectable so tests control the clock. */
  now?: () => number;
  cacheSize?: number;
}

/** Signs one token; no cache. Every claim is documented in docs/tokens.md. */
export async function mintToken(key: SigningKey, identity: Pick<Identity, 'name' | 'roles'>, options: MintOptions): Promise<string> {
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  // authorities is always an array, [] for a user without roles: verifiers map it without a null check.
  const jwt = new SignJWT({ authorities: [...identity.roles].sort() })
    .setProtectedHeader({ alg: 'RS512', typ: 'JWT', kid: key.kid })
    .setSubject(identity.name)
    .setIssuer(options.issuer)
    .setIssuedAt(iat)
    .setNotBefore(Math.max(0, iat - options.clockSkewSeconds))
    .setExpirationTime(iat + options.ttlSeconds)
    .setJti(randomUUID());
  if (options.audience !== null) jwt.setAudience(options.audience);
  return jwt.sign(key.privateKey);
}

interface Entry {
  token: Promise<string>;
  /** The signed token once `token` has resolved: the hot path reads it without a promise. */
  value: string | undefined;
}

export class TokenMinter {
  readonly #options: MintOptions;
  readonly #now: () => number;
  readonly #refreshAfterMs: number;
  /** Entries expire when a new token is due (not when the token does). */
  readonly #cache: ExpiringLru<Entry>;
  #key: SigningKey | null = null;

  constructor(options: MintOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#cache = new ExpiringLru(options.cacheSize ?? 10_000);
    // Reuse a token for 80% of its life, and never with less than 5 s left.
    const margin = Math.max(5, Math.min(60, options.ttlSeconds * 0.2));
    this.#refreshAfterMs = Math.max(0, options.ttlSeconds - margin) * 1000;
  }

  /** Switches the signing key; tokens signed by the previous key are not handed out again. */
  setKey(key: SigningKey | null): void {
    if (key?.kid === this.#key?.kid && key?.privateKey === this.#key?.privateKey) return;
    this.#key = key;
    this.#cache.clear();
  }

  get kid(): string | null {
    return this.#key?.kid ?? null;
  }

  /** Forgets every cached token (a user or role change). */
  clear(): void {
    this.#cache.clear();
  }

  #cacheKey(kid: string, identity: Pick<Identity, 'name' | 'roles'>): string {
    return `${kid}\0${identity.name}\0${identity.roles.join('\0')}`;
  }

  /** A cached, still fresh, already signed token for `identity`, or undefined: never signs. */
  peek(identity: Pick<Identity, 'name' | 'roles'>): string | undefined {
    const key = this.#key;
    return key ? this.#cache.get(this.#cacheKey(key.kid, identity), this.#now())?.value : undefined;
  }

  mint(identity: Pick<Identity, 'name' | 'roles'>): Promise<string> {
    const key = this.#key;
    if (!key) return Promise.reject(new NoSigningKeyError('no active signing key'));
    const cacheKey = this.#cacheKey(key.kid, identity);
    const now = this.#now();
    const hit = this.#cache.get(cacheKey, now);
    if (hit) return hit.token;
    const token = mintToken(key, identity, { ...this.#options, now: () => now });
    const entry: Entry = { token, value: undefined };
    this.#cache.set(cacheKey, entry, now + this.#refreshAfterMs);
    token.then(
      (value) => {
        entry.value = value;
      },
      () => this.#cache.delete(cacheKey, entry),
    );
    return token;
  }
}
