/**
 * First start: an `admin` user, created only when the store has none; every start: an active and
 * a next key; keys sealed when asked. In two steps, so that a start that never listens (port busy)
 * uses nothing up: `prepareBootstrap` checks and computes (password hash, key pairs) without
 * writing them, and the plan's `apply`, called once the port is bound, writes them.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { hashPassword, ROLE_ADMIN, ROLE_USER } from '../identity/index.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { ensureSigningKeys, isSealed, keyEncryptionOf, keyLifecycleOf, keyPairsMissing, openPrivateKey, type KeyLifecycleConfig } from '../tokens/index.js';

export interface BootstrapPlan {
  /** Writes what the first start needs, re-checking the store: a CLI process may have written since. */
  apply(): Promise<void>;
}

type BootstrapConfig = Pick<Config, 'adminPassword' | 'dataDir'> & KeyLifecycleConfig;

/** The one line that says JWTGATE_ADMIN_PASSWORD had no effect, and what to do instead. */
function warnAdminPasswordIgnored(config: BootstrapConfig, log: Pick<Logger, 'warn'>): void {
  log.warn(`JWTGATE_ADMIN_PASSWORD is ignored: the store in ${config.dataDir} already has users; to reset the admin password, pipe the new one into: jwtgate users set admin --password-stdin --data-dir ${config.dataDir}`);
}

export async function prepareBootstrap(store: Store, config: BootstrapConfig, log: Pick<Logger, 'info' | 'warn'>): Promise<BootstrapPlan> {
  // Created now, before the server starts watching the revision, so it is not a "change" later.
  await store.deploymentId();
  const encryption = keyEncryptionOf(config);
  const keys = await store.listKeys();
  // Refuse to start with a wrong or missing encryption key rather than fail on the first request.
  for (const key of keys) if (key.privateKey !== null) openPrivateKey(key.privateKey, encryption);

  let firstAdmin: { password: string; generated: boolean; passwordHash: string } | null = null;
  if ((await store.countUsers()) === 0) {
    const password = config.adminPassword ?? randomBytes(18).toString('base64url');
    firstAdmin = { password, generated: config.adminPassword === null, passwordHash: await hashPassword(password) };
  } else if (config.adminPassword !== null) {
    warnAdminPasswordIgnored(config, log);
  }
  const pregenerated = await keyPairsMissing(keys);

  return {
    async apply() {
      if (firstAdmin) {
        // Atomic in the store: created only if there is still no user at all.
        const created = await store.createFirstUser({ name: 'admin', roles: [ROLE_ADMIN, ROLE_USER], passwordHash: firstAdmin.passwordHash });
        if (created && firstAdmin.generated) {
          // Shown once, never stored in clear: the operator copies it now or resets it with the CLI.
          log.warn({ user: 'admin' }, `created user admin with generated password: ${firstAdmin.password}`);
        } else if (created) {
          log.info({ user: 'admin' }, 'created user admin with the password from JWTGATE_ADMIN_PASSWORD');
        } else if (!firstAdmin.generated) {
          warnAdminPasswordIgnored(config, log);
        }
      }
      const current = await store.listKeys();
      if (encryption && current.some((k) => k.privateKey !== null && !isSealed(k.privateKey))) {
        const sealed = await store.rewritePrivateKeys((_kid, stored) => (isSealed(stored) ? stored : encryption.seal(stored)));
        log.info({ keys: sealed }, 'encrypted the stored private keys with JWTGATE_KEY_ENCRYPTION_KEY');
      }
      const ensured = await ensureSigningKeys({ ...keyLifecycleOf(store, config), pregenerated });
      if (ensured) {
        const before = new Set(current.map((k) => k.kid));
        for (const key of [ensured.active, ensured.next]) {
          if (!before.has(key.kid)) log.info({ kid: key.kid, state: key.state }, `generated RSA ${key.bits} ${key.state === 'active' ? 'signing' : 'next'} key`);
        }
      }
    },
  };
}
