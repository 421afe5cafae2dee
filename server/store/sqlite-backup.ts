/**
 * Online backup of the embedded store with SQLite's backup API (better-sqlite3 `db.backup`): a
 * consistent snapshot taken while the server keeps serving and writing. It includes the changes
 * still in `jwtgate.sqlite-wal`, which a plain `cp jwtgate.sqlite` would miss (the server writes
 * in WAL mode and checkpoints only now and then).
 *
 * The copy is written to a 0600 temporary file next to the destination, checked, then moved into
 * place in one step, so a failed or interrupted backup never leaves a half-written file under the
 * destination's name, and the private keys it holds are never readable by others.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { InvalidInputError, StoreError, StoreNotFoundError } from '../errors.js';
import { STORE_FILE } from './sqlite.js';

export interface SqliteBackupOptions {
  /** The data folder of the store to copy. */
  dataDir: string;
  /** The backup file to write. */
  destination: string;
  /** Replace `destination` (and stale `-wal`/`-shm`/`-journal` files beside it) if it exists. */
  force: boolean;
  /** Tells a sealed private key from one stored in clear (the store does not know the format). */
  isSealed: (storedPrivateKey: string) => boolean;
}

export interface SqliteBackupSummary {
  source: string;
  destination: string;
  bytes: number;
  users: number;
  /** Keys that still hold their private key (pending, active, retiring). */
  privateKeys: number;
  /** How many of those are sealed with JWTGATE_KEY_ENCRYPTION_KEY. */
  sealedPrivateKeys: number;
  proxyUrl: string | null;
}

/** Files SQLite keeps beside a database; a stale one would be replayed onto the new copy when it is opened. */
const COMPANIONS = ['', '-wal', '-shm', '-journal'];

/** Copies every remaining page in one step: the store is small, and one step holds one read snapshot. */
const ALL_PAGES = 0x7fffffff;

export async function backupSqliteStore(options: SqliteBackupOptions): Promise<SqliteBackupSummary> {
  const source = path.resolve(options.dataDir, STORE_FILE);
  const destination = path.resolve(options.destination);
  if (!fs.existsSync(source)) throw new StoreNotFoundError(`no store at ${source} (pass --data-dir)`);
  const folder = path.dirname(destination);
  if (!fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory()) throw new InvalidInputError(`cannot write ${destination}: no folder ${folder}`);
  const inDataDir = fs.realpathSync(folder) === fs.realpathSync(options.dataDir);
  if (sameFile(source, destination) || (inDataDir && path.basename(destination).startsWith(STORE_FILE))) {
    throw new InvalidInputError(`${destination} is the store itself: write the backup elsewhere`);
  }
  const existing = COMPANIONS.map((suffix) => destination + suffix).filter((file) => fs.existsSync(file));
  if (existing.length > 0 && !options.force) throw new InvalidInputError(`${existing[0]} exists: pass --force to replace it`);

  const partial = path.join(folder, `.${path.basename(destination)}.${randomBytes(6).toString('hex')}.partial`);
  // Created 0600 before SQLite writes a byte into it: the copy holds private keys and password hashes.
  try {
    fs.closeSync(fs.openSync(partial, 'wx', 0o600));
  } catch (err) {
    throw new StoreError(`cannot write the backup in ${folder}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  try {
    await copyDatabase(source, partial);
    const summary = summarize(partial, options.isSealed);
    if (options.force) {
      for (const file of existing) if (file !== destination) fs.rmSync(file, { force: true });
      fs.renameSync(partial, destination);
    } else {
      // link() fails if the name appeared meanwhile: never replaces a file without --force.
      fs.linkSync(partial, destination);
      fs.rmSync(partial);
    }
    return { source, destination, bytes: fs.statSync(destination).size, ...summary };
  } catch (err) {
    for (const suffix of COMPANIONS) fs.rmSync(partial + suffix, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new InvalidInputError(`${destination} exists: pass --force to replace it`);
    if (err instanceof StoreError || err instanceof InvalidInputError) throw err;
    throw new StoreError(`backup of ${source} to ${destination} failed: ${(err as Error).message}`, { cause: err });
  }
}

function sameFile(a: string, b: string): boolean {
  const sa = fs.statSync(a, { throwIfNoEntry: false });
  const sb = fs.statSync(b, { throwIfNoEntry: false });
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}

async function copyDatabase(source: string, target: string): Promise<void> {
  // Read-write but query-only: a read-only connection could not remove the -wal/-shm files it
  // creates when no server runs, and files left behind by another OS user lock the server out.
  const db = new Database(source, { fileMustExist: true, timeout: 5000 });
  try {
    db.pragma('query_only = ON');
    await db.backup(target, { progress: () => ALL_PAGES });
  } finally {
    db.close();
  }
}

/** Checks the copy and counts what it holds, so the command can say what was saved. */
function summarize(file: string, isSealed: (stored: string) => boolean): Omit<SqliteBackupSummary, 'source' | 'destination' | 'bytes'> {
  const db = new Database(file, { fileMustExist: true });
  try {
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new StoreError(`the backup copy failed its integrity check: ${String(check)}`);
    const users = (db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
    const privateKeys = (db.prepare('SELECT private_key FROM keys WHERE private_key IS NOT NULL').all() as { private_key: string }[]).map((row) => row.private_key);
    const proxyUrl = (db.prepare(`SELECT v FROM meta WHERE k = 'proxy_url'`).get() as { v: string | null } | undefined)?.v ?? null;
    return { users, privateKeys: privateKeys.length, sealedPrivateKeys: privateKeys.filter(isSealed).length, proxyUrl };
  } finally {
    db.close();
  }
}
