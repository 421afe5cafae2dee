/** `jwtgate keys rotate|list|import|export`. */
import { createPublicKey } from 'node:crypto';
import fs from 'node:fs/promises';
import type { Config } from '../config.js';
import { InvalidInputError, KeyImportError, NotFoundError } from '../errors.js';
import { importKey, keyEncryptionOf, parseBits, publicKeyInfo, rotateKey, rotationTiming } from '../keys.js';
import type { KeyRecord } from '../store/index.js';
import { KeySet, importPrivateKeyPem } from '../tokens/index.js';
import { auditCli, printJson, table, withStore } from './common.js';

type KeysConfig = Pick<Config, 'dataDir' | 'tokenTtlSeconds' | 'jwksMaxAgeSeconds' | 'keyEncryptionKey' | 'auditLogFile'>;

export interface TimingFlags {
  grace?: string;
  publishDelay?: string;
}

function describeSchedule(key: KeyRecord): string {
  return key.state === 'active' ? `${key.kid} is active (signing now)` : `${key.kid} is published now and signs from ${new Date(key.activatesAt!).toISOString()}`;
}

export async function rotateCommand(config: KeysConfig, flags: TimingFlags & { bits?: string }): Promise<void> {
  const bits = parseBits(flags.bits);
  const timing = rotationTiming(config, flags);
  const key = await withStore(config, (store) => rotateKey(store, bits, timing, keyEncryptionOf(config)));
  auditCli(config, { action: 'key.rotate', target: key.kid, details: { bits, ...timing } });
  process.stdout.write(`${key.kid}\n`);
  process.stderr.write(`${describeSchedule(key)}; the previous key stays published ${timing.graceSeconds} s after that\n`);
}

export async function importCommand(config: KeysConfig, file: string, flags: TimingFlags): Promise<void> {
  const timing = rotationTiming(config, flags);
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new KeyImportError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  // Parse and check everything before the store is opened: a bad key leaves it untouched.
  await importPrivateKeyPem(pem);
  const key = await withStore(config, (store) => importKey(store, pem, timing, keyEncryptionOf(config)), { create: true });
  auditCli(config, { action: 'key.import', target: key.kid, details: { bits: key.bits, ...timing } });
  process.stdout.write(`${key.kid}\n`);
  process.stderr.write(`${describeSchedule(key)}\n`);
}

export async function listCommand(config: KeysConfig, json: boolean): Promise<void> {
  const keys = (await withStore(config, (store) => store.listKeys())).map(publicKeyInfo);
  if (json) return printJson(keys);
  process.stdout.write(table([['KID', 'STATE', 'BITS', 'CREATED', 'ACTIVATES', 'NOT_AFTER'], ...keys.map((k) => [k.kid, k.state, String(k.bits), k.createdAt, k.activatesAt ?? '-', k.notAfter ?? '-'])]));
}

export async function exportCommand(config: KeysConfig, format: string | undefined, kid: string | undefined): Promise<void> {
  if (format !== 'pem' && format !== 'jwks') throw new InvalidInputError(`--format must be pem or jwks, got ${JSON.stringify(format)}`);
  // Public material only: the JWKS view is built from the public JWKs, private keys are not opened.
  const keys = await withStore(config, (store) => store.listKeys());
  const set = KeySet.publicOnly(keys, Date.now());
  const published = kid === undefined ? set.jwks.keys : set.jwks.keys.filter((k) => k.kid === kid);
  if (kid !== undefined && published.length === 0) throw new NotFoundError(`no published key ${kid}`);
  if (format === 'jwks') return printJson({ keys: published });
  // A PEM holds one key: the one asked for, else the one signing now.
  const activeKid = keys.find((k) => k.state === 'active')?.kid;
  const jwk = kid !== undefined ? published[0] : published.find((k) => k.kid === activeKid);
  if (!jwk) throw new NotFoundError('no active key');
  process.stdout.write(createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString());
}
