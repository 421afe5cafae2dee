/**
 * The users as the identity sources need them after the login itself: whether a name still
 * exists, its current roles, and since when (a session, a token sent back to /api). Cached per
 * name (also "no such user"), bounded, and dropped per user when a change to that user is seen,
 * like the credential cache; a read that races a change is not cached.
 */
import { ExpiringLru } from '../expiring-lru.js';
import type { Store } from '../store/index.js';

export interface DirectoryEntry {
  readonly roles: readonly string[];
  /** UserRecord.createdAt: a token minted before it was minted for someone else (0: unknown). */
  readonly createdAt: number;
}

export interface UserDirectoryOptions {
  store: Pick<Store, 'getUser'>;
  cacheSize?: number;
  /** How long an entry is reused, ms (changes drop it at once; this only bounds memory). */
  cacheTtlMs?: number;
  now?: () => number;
}

export class UserDirectory {
  readonly #store: Pick<Store, 'getUser'>;
  readonly #cache: ExpiringLru<DirectoryEntry | null>;
  readonly #ttl: number;
  readonly #now: () => number;
  #epoch = 0;

  constructor(options: UserDirectoryOptions) {
    this.#store = options.store;
    this.#cache = new ExpiringLru(options.cacheSize ?? 10_000);
    this.#ttl = options.cacheTtlMs ?? 300_000;
    this.#now = options.now ?? Date.now;
  }

  /** The cached entry: an entry, null for "no such user", undefined when not cached. */
  known(name: string): DirectoryEntry | null | undefined {
    return this.#cache.get(name, this.#now());
  }

  async get(name: string): Promise<DirectoryEntry | null> {
    const hit = this.known(name);
    if (hit !== undefined) return hit;
    const epoch = this.#epoch;
    const user = await this.#store.getUser(name);
    const entry = user ? Object.freeze({ roles: Object.freeze([...user.roles]), createdAt: user.createdAt }) : null;
    if (epoch === this.#epoch) this.#cache.set(name, entry, this.#now() + this.#ttl);
    return entry;
  }

  /** Drops these users (everyone when omitted): their next lookup reads the store. */
  invalidate(names?: readonly string[]): void {
    this.#epoch++;
    if (names === undefined) this.#cache.clear();
    else for (const name of names) this.#cache.delete(name);
  }
}
