/** `jwtgate keys rotate|list|import|export`: the CLI face of tokens/key-lifecycle/. */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import fs from 'node:fs/promises';
import type { Config } from '../config.js';
import { InvalidInputError, KeyImportError, NotFoundError } from '../errors.js';
import {
  CLI_OPTION_NAMES,
  emergencyWarning,
  importPrivateKeyPem,
  importSigningKey,
  keyChangeAudit,
  keyLifecycleOf,
  KeySet,
  publicKeyInfo,
  refuseRemovedTimingOptions,
  rotate,
  rotationMode,
  rotationRequestOf,
  type KeyChange,
  type KeyLifecycleConfig,
} from '../tokens/index.js';
import { auditCli, printJson, table, withStore } from './common.js';

type KeysConfig = Pick<Config, 'dataDir' | 'auditLogFile'> & KeyLifecycleConfig;

export interface RotateFlags {
  bits?: string;
  force?: boolean;
  revokeCurrent?: boolean;
  /** Removed options: refused with the reason. */
  publishDelay?: string;
  grace?: string;
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

/** What a change did, for stderr: which key signs, which is next, what happens to the others. */
function describeChange(change: KeyChange): string {
  const lines = [
    `${change.active.kid} signs now (published since ${iso(change.active.publishedAt)})`,
    `${change.next.kid} is the next key (published since ${iso(change.next.publishedAt)}; it signs at the next rotation)`,
  ];
  for (const key of change.replaced) {
    lines.push(key.state === 'retiring' ? `${key.kid} no longer signs and stays published until ${iso(key.notAfter)}` : `${key.kid} is retired: no longer published, private key erased`);
  }
  return `${lines.join('\n')}\n`;
}

export async function rotateCommand(config: KeysConfig, flags: RotateFlags): Promise<void> {
  const request = rotationRequestOf(flags, CLI_OPTION_NAMES);
  const change = await withStore(config, (store) => rotate(keyLifecycleOf(store, config), request));
  auditCli(config, { action: 'key.rotate', target: change.active.kid, details: { ...keyChangeAudit(change, rotationMode(request)), bits: request.bits } });
  process.stdout.write(`${change.active.kid}\n`);
  process.stderr.write(describeChange(change));
  if (request.revokeCurrent) process.stderr.write(`warning: ${emergencyWarning(config.consumerCacheMaxSeconds)}\n`);
}

export async function importCommand(config: KeysConfig, file: string, flags: Pick<RotateFlags, 'publishDelay' | 'grace'>): Promise<void> {
  refuseRemovedTimingOptions(flags, CLI_OPTION_NAMES);
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new KeyImportError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  // Parse and check everything before the store is opened: a bad key leaves it untouched.
  const key = await importPrivateKeyPem(pem);
  const change = await withStore(config, (store) => importSigningKey(keyLifecycleOf(store, config), key), { create: true });
  auditCli(config, { action: 'key.import', target: key.kid, details: { ...keyChangeAudit(change, 'import'), bits: key.bits, as: change.imported.state } });
  process.stdout.write(`${key.kid}\n`);
  process.stderr.write(describeChange(change));
}

/** Signing keys first (active, next), then the others, newest first: the order an operator reads them in. */
const STATE_ORDER: Record<string, number> = { active: 0, next: 1, retiring: 2, retired: 3 };

export async function listCommand(config: Pick<Config, 'dataDir'>, json: boolean): Promise<void> {
  const records = await withStore(config, (store) => store.listKeys());
  records.sort((a, b) => (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) || b.createdAt - a.createdAt || a.kid.localeCompare(b.kid));
  const keys = records.map(publicKeyInfo);
  if (json) return printJson(keys);
  process.stdout.write(table([['KID', 'STATE', 'BITS', 'CREATED', 'PUBLISHED', 'ACTIVATES', 'NOT_AFTER'], ...keys.map((k) => [k.kid, k.state, String(k.bits), k.createdAt!, k.publishedAt!, k.activatesAt ?? '-', k.notAfter ?? '-'])]));
}

export async function exportCommand(config: Pick<Config, 'dataDir'>, format: string | undefined, kid: string | undefined): Promise<void> {
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
  process.stdout.write(createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString());
}
