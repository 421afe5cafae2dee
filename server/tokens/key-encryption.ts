/**
 * Private keys at rest: with JWTGATE_KEY_ENCRYPTION_KEY set, every private key in the store is
 * sealed with AES-256-GCM under a key derived from it (scrypt), so a copy of the store alone
 * does not let anyone sign tokens. GCM authenticates: a wrong key is detected, never "decrypts".
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { KeyEncryptionError } from '../errors.js';

const PREFIX = 'sealed:v1:';
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

export class KeyEncryption {
  readonly #key: Buffer;

  /** `secret`: the JWTGATE_KEY_ENCRYPTION_KEY value (at least 32 characters, e.g. `openssl rand -base64 32`). */
  constructor(secret: string) {
    this.#key = scryptSync(secret, 'jwtgate key encryption v1', 32, { N: 16384, r: 8, p: 1 });
  }

  seal(pem: string): string {
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  open(sealed: string): string {
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_LENGTH));
      decipher.setAuthTag(raw.subarray(IV_LENGTH, IV_LENGTH + TAG_LENGTH));
      return Buffer.concat([decipher.update(raw.subarray(IV_LENGTH + TAG_LENGTH)), decipher.final()]).toString('utf8');
    } catch {
      throw new KeyEncryptionError('JWTGATE_KEY_ENCRYPTION_KEY does not decrypt the stored private keys (wrong key?)');
    }
  }
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** The PEM of a stored private key; refuses sealed keys without the right encryption key. */
export function openPrivateKey(stored: string, encryption: KeyEncryption | null): string {
  if (!isSealed(stored)) return stored;
  if (!encryption) throw new KeyEncryptionError('the private keys in the store are encrypted: set JWTGATE_KEY_ENCRYPTION_KEY');
  return encryption.open(stored);
}

/** What to store for a new private key. */
export function sealPrivateKey(pem: string, encryption: KeyEncryption | null): string {
  return encryption ? encryption.seal(pem) : pem;
}

/** The configured key-encryption key, or null when private keys are stored in clear. */
export function keyEncryptionOf(config: { keyEncryptionKey: string | null }): KeyEncryption | null {
  return config.keyEncryptionKey === null ? null : new KeyEncryption(config.keyEncryptionKey);
}
