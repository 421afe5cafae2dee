/** Helpers shared by the CLI commands: the store, output formats, stdin. */
import os from 'node:os';
import { openAuditLog, type AuditEvent } from '../audit.js';
import { loadConfig, type Config, type Flags } from '../config.js';
import { openStore, type Store } from '../store/index.js';
import { retireExpiredKeys } from '../tokens/index.js';

/**
 * Opens the existing store (a missing one is bad input: exit 2), retires keys past their notAfter,
 * runs `fn`, closes. Rotations that fall due (--rotate-every) are left to the servers.
 */
export async function withStore<T>(config: Pick<Config, 'dataDir'>, fn: (store: Store) => Promise<T>, options: { create?: boolean } = {}): Promise<T> {
  const store = openStore({ dataDir: config.dataDir, create: options.create ?? false });
  try {
    await retireExpiredKeys(store, Date.now());
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function configOf(flags: Flags): Config {
  return loadConfig(flags);
}

/** A plain text table, columns padded; `rows` includes the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The first line of standard input, without its line ending (for --password-stdin). */
export async function readFirstLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/**
 * `--roles A,B` as a list, split at commas and nothing else: no trimming, so `--roles ' a'` meets
 * the same rule as the admin API's `{"roles": [" a"]}` (validateRoles refuses both).
 */
export function splitList(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  return raw === '' ? [] : raw.split(',');
}

/** Records a change made through the CLI in the same audit log as the admin API. */
export function auditCli(config: Pick<Config, 'auditLogFile'>, event: Omit<AuditEvent, 'actor'>): void {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (some containers): keep "unknown"
  }
  openAuditLog(config.auditLogFile).record({ actor: `cli:${user}`, ...event });
}
