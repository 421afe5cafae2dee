/**
 * Password hashing with node:crypto scrypt (memory-hard, no native dependency). Stored as
 * `scrypt$N$r$p$salt$hash` (base64url) so parameters can be raised later without breaking
 * existing hashes. Comparison is constant-time.
 *
 * N = 2^15, r = 8: 32 MiB and ~90 ms per hash on the reference machine. The size matters for
 * memory as well as for attackers: OpenSSL allocates the 32 MiB + 3 KiB with malloc, which is
 * above glibc's largest dynamic mmap threshold (32 MiB), so every hash gets fresh pages and gives
 * them back. At N = 2^14 (16 MiB) glibc raises its threshold after the first hash and keeps the
 * 16 MiB in each libuv worker's arena: 64 MiB of resident memory that never returns (measured).
 * Hashes run through a HashQueue (hash-queue.ts): at most HASH_CONCURRENCY at once, which bounds
 * the transient memory (scrypt is CPU-bound: more at once than cores buys nothing) and leaves a
 * libuv worker for other work; waiting checks are served fairly between clients.
 */
import { availableParallelism } from 'node:os';
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { HashQueue, type HashPlace } from './hash-queue.js';

const N = 32768;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/**
 * Hashes at once: one per core, at most 3, so that at least one of libuv's 4 default workers
 * stays free for DNS, fs and other crypto.
 */
export const HASH_CONCURRENCY = Math.max(1, Math.min(3, availableParallelism()));

/** Where a hash waits for its turn: which queue, and its place in it (client, network, priority). */
export interface HashSlot extends HashPlace {
  queue: HashQueue;
}

/** The process's queue for hashes that name no other (CLI commands, the first-start admin, tests). */
const localQueue = new HashQueue({ concurrency: HASH_CONCURRENCY, maxWaitMs: 10 * 60_000 });
export const LOCAL_SLOT: HashSlot = Object.freeze({ queue: localQueue, lane: 'local', group: 'local', priority: 'clean' });

function derive(password: string, salt: Buffer, options: ScryptOptions, slot: HashSlot): Promise<Buffer> {
  return slot.queue.run(
    slot,
    () =>
      new Promise<Buffer>((resolve, reject) => {
        scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...options, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
      }),
  );
}

export async function hashPassword(password: string, slot: HashSlot = LOCAL_SLOT): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, { N, r: R, p: P }, slot);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** A hash of nothing anyone knows: checked for unknown users so that they take as long as known ones. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url'));
  return dummyHash;
}

/** True when `stored` was made with other parameters than hashPassword uses now (re-hash on the next successful login). */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith(`scrypt$${N}$${R}$${P}$`);
}

export async function verifyPassword(password: string, stored: string, slot: HashSlot = LOCAL_SLOT): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![n, r, p].every((v) => Number.isSafeInteger(v) && v > 0)) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length === 0) return false;
  const actual = await derive(password, salt, { N: n, r, p }, slot);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
