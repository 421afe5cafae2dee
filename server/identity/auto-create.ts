/**
 * --auto-create-users: a user asserted by the load balancer for the first time is stored (no
 * password, no roles), so administrators see them in GET /admin/users and can give them roles;
 * the roles forwarded are the mapped claim roles plus the store's.
 *
 * Cost: the store is read through the UserDirectory (cached per name, so the hot path never waits
 * for it), and written only when the directory says the user does not exist: once per new user,
 * never per request. A burst of first requests of one new user shares one write; two servers on
 * one store racing for the same new user are safe too, since `upsertUser` with an empty patch
 * creates the user atomically or leaves an existing one as it is.
 */
import type { Store } from '../store/index.js';
import type { AssertionSourceKind } from './assertions/index.js';
import type { AssertedUsers } from './sources/assertion.js';
import type { DirectoryEntry, UserDirectory } from './user-directory.js';

export interface AutoCreatedUsersOptions {
  directory: Pick<UserDirectory, 'known' | 'get' | 'invalidate'>;
  store: Pick<Store, 'upsertUser'>;
  /** Called once per user this server created (the audit log). */
  onCreated?: (name: string, via: AssertionSourceKind) => void;
}

const NO_ROLES: DirectoryEntry = Object.freeze({ roles: Object.freeze([]), createdAt: 0 });

export class AutoCreatedUsers implements AssertedUsers {
  readonly #directory: AutoCreatedUsersOptions['directory'];
  readonly #store: AutoCreatedUsersOptions['store'];
  readonly #onCreated: AutoCreatedUsersOptions['onCreated'];
  readonly #creating = new Map<string, Promise<DirectoryEntry>>();

  constructor(options: AutoCreatedUsersOptions) {
    this.#directory = options.directory;
    this.#store = options.store;
    this.#onCreated = options.onCreated;
  }

  known(name: string): DirectoryEntry | null | undefined {
    return this.#directory.known(name);
  }

  async ensure(name: string, via: AssertionSourceKind): Promise<DirectoryEntry> {
    const entry = await this.#directory.get(name);
    if (entry !== null) return entry;
    let pending = this.#creating.get(name);
    if (pending === undefined) {
      pending = this.#create(name, via).finally(() => this.#creating.delete(name));
      this.#creating.set(name, pending);
    }
    return pending;
  }

  async #create(name: string, via: AssertionSourceKind): Promise<DirectoryEntry> {
    const { created } = await this.#store.upsertUser(name, {});
    if (created) this.#onCreated?.(name, via);
    this.#directory.invalidate([name]);
    // Deleted again in between (an administrator was quick): no store roles for this request.
    return (await this.#directory.get(name)) ?? NO_ROLES;
  }
}
