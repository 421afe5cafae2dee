/** First start: an `admin` user, created only when the store has none; every start: an active and a next key; keys sealed when asked. */
import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import { hashPassword, ROLE_ADMIN, ROLE_USER } from './identity/index.js';
import type { Logger } from './log.js';
import type { Store } from './store/index.js';
import { ensureSigningKeys, isSealed, keyEncryptionOf, keyLifecycleOf, openPrivateKey, type KeyLifecycleConfig } from './tokens/index.js';

export async function bootstrapStore(store: Store, config: Pick<Config, 'adminPassword'> & KeyLifecycleConfig, log: Pick<Logger, 'info' | 'warn'>): Promise<void> {
  // Created now, before the server starts watching the revision, so it is not a "change" later.
  await store.deploymentId();
  const encryption = keyEncryptionOf(config);
  const keys = await store.listKeys();
  // Refuse to start with a wrong or missing encryption key rather than fail on the first request.
  for (const key of keys) if (key.privateKey !== null) openPrivateKey(key.privateKey, encryption);
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
  if (encryption && keys.some((k) => k.privateKey !== null && !isSealed(k.privateKey))) {
    const sealed = await store.rewritePrivateKeys((_kid, stored) => (isSealed(stored) ? stored : encryption.seal(stored)));
    log.info({ keys: sealed }, 'encrypted the stored private keys with JWTGATE_KEY_ENCRYPTION_KEY');
  }
  const ensured = await ensureSigningKeys(keyLifecycleOf(store, config));
  if (ensured) {
    const before = new Set(keys.map((k) => k.kid));
    for (const key of [ensured.active, ensured.next]) {
      if (!before.has(key.kid)) log.info({ kid: key.kid, state: key.state }, `generated RSA ${key.bits} ${key.state === 'active' ? 'signing' : 'next'} key`);
    }
  }
}
