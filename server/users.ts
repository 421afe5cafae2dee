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
  if (roles !== undefined && !roles.includes(ROLE_ADMIN)) await refuseLastAdminRemoval(store, name);
  const passwordHash = password === undefined ? undefined : await hashPassword(password);
  return store.upsertUser(name, { ...(roles ? { roles } : {}), ...(passwordHash ? { passwordHash } : {}) });
}

export async function removeUser(store: Store, name: string): Promise<void> {
  await refuseLastAdminRemoval(store, name);
  if (!(await store.deleteUser(name))) throw new NotFoundError(`no user ${JSON.stringify(name)}`);
}
