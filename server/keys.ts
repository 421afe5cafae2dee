/**
 * Key life-cycle operations shared by the CLI and the admin API: rotate, import, list. A new key
 * is published first and signs only after `publishDelay`; its predecessor stays published for
 * `grace` after that, so no token minted before the change stops verifying.
 */
import type { Config } from './config.js';
import { InvalidInputError, KeyImportError } from './errors.js';
import type { KeyRecord, Store } from './store/index.js';
import { generateSigningKey, importPrivateKeyPem, isSealed, KEY_BITS, KeyEncryption, openPrivateKey, sealPrivateKey, type NewKey } from './tokens/index.js';

export interface RotationTiming {
  /** Seconds between publishing the new key and signing with it. */
  publishDelaySeconds: number;
  /** Seconds the previous key stays published after the new one starts signing. */
  graceSeconds: number;
}

/** Default grace: tokens live tokenTtl; twice that plus a minute covers skew and retries. */
export function defaultGraceSeconds(config: Pick<Config, 'tokenTtlSeconds'>): number {
  return 2 * config.tokenTtlSeconds + 60;
}

/** Default publish delay: past the JWKS max-age (and jose's 30 s refetch cooldown), so every verifier has the new key before it signs. */
export function defaultPublishDelaySeconds(config: Pick<Config, 'jwksMaxAgeSeconds'>): number {
  return Math.max(config.jwksMaxAgeSeconds, 30) + 10;
}

function seconds(raw: string | number | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const text = String(raw);
  if (!/^\d+$/.test(text) || Number(text) > 30 * 86_400) throw new InvalidInputError(`${name} must be a whole number of seconds (0 to 2592000), got ${JSON.stringify(raw)}`);
  return Number(text);
}

export function rotationTiming(config: Pick<Config, 'tokenTtlSeconds' | 'jwksMaxAgeSeconds'>, raw: { publishDelay?: string | number; grace?: string | number }): RotationTiming {
  return {
    publishDelaySeconds: seconds(raw.publishDelay, 'publish delay', defaultPublishDelaySeconds(config)),
    graceSeconds: seconds(raw.grace, 'grace', defaultGraceSeconds(config)),
  };
}

export function parseBits(raw: string | number | undefined): number {
  const bits = raw === undefined ? 2048 : Number(raw);
  if (!(KEY_BITS as readonly number[]).includes(bits)) throw new InvalidInputError(`bits must be one of ${KEY_BITS.join(', ')}, got ${JSON.stringify(raw)}`);
  return bits;
}

export function keyEncryptionOf(config: Pick<Config, 'keyEncryptionKey'>): KeyEncryption | null {
  return config.keyEncryptionKey === null ? null : new KeyEncryption(config.keyEncryptionKey);
}

/** Publishes `key` now, makes it sign after the publish delay, and retires the previous key after the grace. */
export async function scheduleNewKey(store: Store, key: NewKey, timing: RotationTiming, encryption: KeyEncryption | null, now = Date.now()): Promise<KeyRecord> {
  const keys = await store.listKeys();
  const existing = keys.find((k) => k.kid === key.kid);
  if (existing) throw new KeyImportError(`key ${key.kid} is already in the store (${existing.state}); a key is never made active twice`);
  // Same protection for every key: a sealed store stays sealed, and only with its own key.
  for (const k of keys) if (k.privateKey !== null && (encryption !== null || isSealed(k.privateKey))) openPrivateKey(k.privateKey, encryption);
  // Nothing signs yet (a fresh store): there is no one to publish ahead of.
  const delaySeconds = keys.some((k) => k.state === 'active') ? timing.publishDelaySeconds : 0;
  const activatesAt = now + delaySeconds * 1000;
  await store.scheduleKey({ ...key, privateKey: sealPrivateKey(key.privateKey, encryption) }, activatesAt, activatesAt + timing.graceSeconds * 1000, now);
  return (await store.listKeys()).find((k) => k.kid === key.kid)!;
}

export async function rotateKey(store: Store, bits: number, timing: RotationTiming, encryption: KeyEncryption | null): Promise<KeyRecord> {
  return scheduleNewKey(store, await generateSigningKey(bits), timing, encryption);
}

export async function importKey(store: Store, pem: string, timing: RotationTiming, encryption: KeyEncryption | null): Promise<KeyRecord> {
  return scheduleNewKey(store, await importPrivateKeyPem(pem), timing, encryption);
}

/** What may leave the store about a key: never private material. */
export function publicKeyInfo(key: KeyRecord) {
  return {
    kid: key.kid,
    state: key.state,
    bits: key.bits,
    createdAt: new Date(key.createdAt).toISOString(),
    activatesAt: key.activatesAt === null ? null : new Date(key.activatesAt).toISOString(),
    notAfter: key.notAfter === null ? null : new Date(key.notAfter).toISOString(),
  };
}
