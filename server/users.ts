/** User writes shared by the admin API and the CLI: the same validation and rules on every path. */
import type { Config } from './config.js';
import { LastAdminError, NotFoundError } from './errors.js';
import { hashPassword, ROLE_ADMIN, validatePassword, validateRoles, validateUserName } from './identity/index.js';
import type { Store, UserRecord } from './store/index.js';

export interface UserInput {
  password?: unknown;
  roles?: unknown;
}

export const publicUser = (user: UserRecord) => ({ name: user.name, roles: user.roles, hasPassword: user.passwordHash !== null });

/**
 * User writes in this process run one at a time, so the last-admin check and the write it
 * guards cannot interleave with another request's (two concurrent deletes of the last two
 * admins). Hashing happens before, outside the lock.
 */
let queue: Promise<unknown> = Promise.resolve();
function serialized<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

/** Nobody could administer the gateway any more with a password: refuse. */
async function refuseLastAdminRemoval(store: Pick<Store, 'listUsers'>, name: string): Promise<void> {
  const admins = (await store.listUsers()).filter((u) => u.roles.includes(ROLE_ADMIN) && u.passwordHash !== null);
  if (admins.length === 1 && admins[0]!.name === name) throw new LastAdminError(`${name} is the last administrator with a password`);
}

/** Creates or updates a user; validates everything before writing anything. */
export async function saveUser(store: Store, rawName: unknown, input: UserInput, config: Pick<Config, 'minPasswordLength'>): Promise<{ created: boolean; user: UserRecord }> {
  const name = validateUserName(rawName);
  const roles = input.roles === undefined ? undefined : validateRoles(input.roles);
  const password = input.password === undefined ? undefined : validatePassword(input.password, config.minPasswordLength);
  const passwordHash = password === undefined ? undefined : await hashPassword(password);
  return serialized(async () => {
    if (roles !== undefined && !roles.includes(ROLE_ADMIN)) await refuseLastAdminRemoval(store, name);
    return store.upsertUser(name, { ...(roles ? { roles } : {}), ...(passwordHash ? { passwordHash } : {}) });
  });
}

export function removeUser(store: Store, name: string): Promise<void> {
  return serialized(async () => {
    await refuseLastAdminRemoval(store, name);
    if (!(await store.deleteUser(name))) throw new NotFoundError(`no user ${JSON.stringify(name)}`);
  });
}
