export { configOf } from './common.js';
export { exportCommand, importCommand, listCommand, rotateCommand, type RotateFlags } from './keys.js';
export { getProxyCommand, setProxyCommand } from './proxy.js';
export { backupCommand } from './store.js';
export { mintCommand, verifyCommand } from './token.js';
export { deleteUserCommand, listUsersCommand, setUserCommand } from './users.js';
export { listSessionsCommand, revokeSessionsCommand, rotateSessionSecretCommand } from './sessions.js';
