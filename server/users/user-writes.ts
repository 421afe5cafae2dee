/** User writes shared by the admin API and the CLI: the same validation and rules on every path. */
import type { Config } from '../config.js';
import { NotFoundError } from '../errors.js';
import { hashPassword, LOCAL_SLOT, validatePassword, validateRoles, validateUserName, type HashSlot, type Identity } from '../identity/index.js';
import type { AdminActor, Store, UserRecord } from '../store/index.js';

export interface UserInput {
  password?: unknown;
  roles?: unknown;
}

export const publicUser = (user: UserRecord) => ({ name: user.name, roles: user.roles, hasPassword: user.passwordHash !== null });

export interface UserWriteContext {
  /** The administrator making the change (admin API); none for the operator (CLI). */
  actor?: AdminActor;
  /** Where the new password's hash waits for its turn. */
  hashSlot?: HashSlot;
}

/**
 * The store-level precondition for an admin write made by `identity` (see AdminActor): the
 * check happens inside the write's own transaction, so a request that waited (for a hash, a
 * body, a lock) cannot act for an administrator who was deleted, demoted or given a new password
 * meanwhile.
 */
export function actorOf(identity: Identity | undefined): AdminActor | undefined {
  if (identity === undefined || identity.via !== 'basic' || identity.passwordVersion === undefined) return undefined;
  return { name: identity.name, passwordVersion: identity.passwordVersion };
}

/**
 * Creates or updates a user; validates everything before writing anything. The store refuses,
 * in the same transaction, a change that would leave no administrator with a password (409)
 * — across processes, since the CLI and the server write the same store.
 */
export async function saveUser(store: Store, rawName: unknown, input: UserInput, config: Pick<Config, 'minPasswordLength'>, context: UserWriteContext = {}): Promise<{ created: boolean; user: UserRecord }> {
  const name = validateUserName(rawName);
  const roles = input.roles === undefined ? undefined : validateRoles(input.roles);
  const password = input.password === undefined ? undefined : validatePassword(input.password, config.minPasswordLength);
  const passwordHash = password === undefined ? undefined : await hashPassword(password, context.hashSlot ?? LOCAL_SLOT);
  return store.upsertUser(name, { ...(roles ? { roles } : {}), ...(passwordHash ? { passwordHash } : {}) }, { actor: context.actor, keepAnAdmin: true });
}

export async function removeUser(store: Store, name: string, context: Pick<UserWriteContext, 'actor'> = {}): Promise<void> {
  if (!(await store.deleteUser(name, { actor: context.actor, keepAnAdmin: true }))) throw new NotFoundError(`no user ${JSON.stringify(name)}`);
}
