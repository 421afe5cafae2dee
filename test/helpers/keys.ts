/** Test keys, generated once per process (RSA generation takes ~50-200 ms). */
import { generateSigningKey, KeySet, type NewKey } from '../../server/tokens/index.js';
import type { KeyRecord } from '../../server/store/index.js';

const cache = new Map<string, Promise<NewKey>>();

export function testKey(name: string, bits = 2048): Promise<NewKey> {
  if (!cache.has(name)) cache.set(name, generateSigningKey(bits));
  return cache.get(name)!;
}

export function record(key: NewKey, state: KeyRecord['state'] = 'active', notAfter: number | null = null, activatesAt: number | null = null, publishedAt = key.createdAt): KeyRecord {
  return { ...key, state, notAfter, activatesAt, publishedAt };
}

export async function keySetOf(records: KeyRecord[], now = Date.now()): Promise<KeySet> {
  return new KeySet(records, now);
}
