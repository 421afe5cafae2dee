/** First start: an `admin` user and a signing key, created only when the store has none. */
import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import { hashPassword, ROLE_ADMIN, ROLE_USER } from './identity/index.js';
import type { Logger } from './log.js';
import type { Store } from './store/index.js';
import { generateSigningKey } from './tokens/index.js';

export async function bootstrapStore(store: Store, config: Pick<Config, 'adminPassword'>, log: Pick<Logger, 'info' | 'warn'>): Promise<void> {
  if ((await store.countUsers()) === 0) {
    const generated = config.adminPassword === null;
    const password = config.adminPassword ?? randomBytes(18).toString('base64url');
    const created = await store.createFirstUser({ name: 'admin', roles: [ROLE_ADMIN, ROLE_USER], passwordHash: await hashPassword(password) });
    if (created && generated) {
      // Shown once, never stored in clear: the operator copies it now or resets it with the CLI.
      log.warn({ user: 'admin' }, `created user admin with generated password: ${password}`);
    } else if (created) {
      log.info({ user: 'admin' }, 'created user admin with the password from JWTGATE_ADMIN_PASSWORD');
    }
  }
  if (!(await store.listKeys()).some((k) => k.state === 'active')) {
    const key = await generateSigningKey(2048);
    await store.activateKey(key, Date.now());
    log.info({ kid: key.kid }, 'generated RSA 2048 signing key');
  }
}
