/** `jwtgate keys ...`: signing keys in the store. */
import fs from 'node:fs/promises';
import type { Config } from '../config.js';
import { InvalidInputError, KeyImportError } from '../errors.js';
import { openStore, type Store } from '../store/index.js';
import { importPrivateKeyPem, type NewKey } from '../tokens/index.js';

/** How long a replaced key stays published: tokens it signed must still verify until they expire. */
export function defaultGraceSeconds(config: Pick<Config, 'tokenTtlSeconds'>): number {
  return 2 * config.tokenTtlSeconds + 60;
}

export function parseGrace(raw: string | undefined, config: Pick<Config, 'tokenTtlSeconds'>): number {
  if (raw === undefined) return defaultGraceSeconds(config);
  if (!/^\d+$/.test(raw)) throw new InvalidInputError(`--grace must be a number of seconds, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Makes `key` the active key; the previous one keeps being published for `graceSeconds`. */
export async function activate(store: Store, key: NewKey, graceSeconds: number, now = Date.now()): Promise<void> {
  const existing = (await store.listKeys()).find((k) => k.kid === key.kid);
  if (existing) throw new KeyImportError(`key ${key.kid} is already in the store (${existing.state}); a key is never made active twice`);
  await store.activateKey(key, now + graceSeconds * 1000);
}

export async function importKeyCommand(config: Pick<Config, 'dataDir' | 'tokenTtlSeconds'>, file: string, graceRaw: string | undefined): Promise<string> {
  const grace = parseGrace(graceRaw, config);
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new KeyImportError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  // Parse and check everything before the store is even opened: a bad key leaves it untouched.
  const key = await importPrivateKeyPem(pem);
  const store = openStore({ dataDir: config.dataDir, create: true });
  try {
    await activate(store, key, grace);
  } finally {
    await store.close();
  }
  return key.kid;
}
