/** `jwtgate store backup`: an online copy of the store, safe while the server runs. */
import type { Config } from '../config.js';
import { backupSqliteStore } from '../store/index.js';
import { isSealed } from '../tokens/index.js';
import { auditCli } from './common.js';

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

export async function backupCommand(config: Pick<Config, 'dataDir' | 'auditLogFile'>, file: string, force: boolean): Promise<void> {
  // Read-only on the store: unlike the other commands it applies no due key transition, so the
  // copy is the store exactly as the server sees it.
  const summary = await backupSqliteStore({ dataDir: config.dataDir, destination: file, force, isSealed });
  // A backup carries the signing keys: who made one belongs in the trail, like `token mint`.
  auditCli(config, { action: 'store.backup', target: summary.destination, details: { bytes: summary.bytes, users: summary.users, privateKeys: summary.privateKeys, sealedPrivateKeys: summary.sealedPrivateKeys } });
  const clear = summary.privateKeys - summary.sealedPrivateKeys;
  const keys = summary.privateKeys === 0 ? 'no private key' : `${count(summary.privateKeys, 'private key')} (${clear === 0 ? 'sealed' : `${clear} in clear`})`;
  process.stdout.write(`backed up ${summary.source} to ${summary.destination} (${summary.bytes} bytes, mode 0600): ${count(summary.users, 'user')}, ${keys}, proxy ${summary.proxyUrl ?? '(disabled)'}\n`);
  if (clear > 0) process.stderr.write('warning: the backup holds private keys in clear: whoever reads it can sign tokens for any user (set JWTGATE_KEY_ENCRYPTION_KEY to seal them)\n');
}
