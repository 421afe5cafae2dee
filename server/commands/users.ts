/** `jwtgate users list|set|delete`: the same rules as the admin API, on the same store. */
import type { Config } from '../config.js';
import { InvalidInputError } from '../errors.js';
import { publicUser, removeUser, saveUser } from '../users/index.js';
import { auditCli, printJson, readFirstLine, splitList, table, withStore } from './common.js';

type UsersConfig = Pick<Config, 'dataDir' | 'minPasswordLength' | 'auditLogFile'>;

export async function listUsersCommand(config: UsersConfig, json: boolean): Promise<void> {
  const users = (await withStore(config, (store) => store.listUsers())).map(publicUser);
  if (json) return printJson(users);
  process.stdout.write(table([['NAME', 'PASSWORD', 'ROLES'], ...users.map((u) => [u.name, u.hasPassword ? 'yes' : 'no', u.roles.join(',')])]));
}

export async function setUserCommand(config: UsersConfig, name: string, flags: { roles?: string; passwordStdin?: boolean }): Promise<void> {
  const roles = splitList(flags.roles);
  let password: string | undefined;
  if (flags.passwordStdin) {
    password = await readFirstLine();
    if (password === '') throw new InvalidInputError('--password-stdin: standard input is empty');
  }
  // Neither option: like the admin API's `PUT {}`, a new user is created (no roles, no password) and an existing one is left as it is.
  const { created, user } = await withStore(config, (store) => saveUser(store, name, { ...(roles ? { roles } : {}), ...(password !== undefined ? { password } : {}) }, config));
  auditCli(config, { action: created ? 'user.create' : 'user.update', target: user.name, details: { roles: user.roles, passwordChanged: password !== undefined } });
  process.stdout.write(`${created ? 'created' : 'updated'} ${user.name} (${user.roles.join(',') || 'no roles'}${user.passwordHash ? ', password set' : ', no password'})\n`);
}

export async function deleteUserCommand(config: UsersConfig, name: string): Promise<void> {
  await withStore(config, (store) => removeUser(store, name));
  auditCli(config, { action: 'user.delete', target: name });
  process.stdout.write(`deleted ${name}\n`);
}
