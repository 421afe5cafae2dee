/**
 * RSA key pairs: generation and PEM import, before a key enters the store. The kid is the
 * RFC 7638 JWK thumbprint (SHA-256) of the public key, so the same key always gets the same kid.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { InvalidInputError, KeyImportError } from '../../errors.js';
import type { NewKeyRecord } from '../../store/index.js';

export const MIN_KEY_BITS = 2048;
export const KEY_BITS = [2048, 3072, 4096] as const;

/** A generated or imported key, private key in clear (sealed before it is stored). */
export type NewKey = NewKeyRecord;

export const DEFAULT_KEY_BITS = 2048;

/** The public JWK published for a key (RS512, signature use). */
export function publicJwkOf(privateOrPublic: KeyObject, kid: string): JWK {
  const { kty, n, e } = createPublicKey(privateOrPublic).export({ format: 'jwk' });
  return { kty: kty!, n: n!, e: e!, kid, alg: 'RS512', use: 'sig' };
}

async function describe(privateKey: KeyObject, now: number): Promise<NewKey> {
  const { kty, n, e } = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = await calculateJwkThumbprint({ kty: kty!, n: n!, e: e! }, 'sha256');
  return {
    kid,
    bits: privateKey.asymmetricKeyDetails?.modulusLength ?? 0,
    createdAt: now,
    publicJwk: JSON.stringify(publicJwkOf(privateKey, kid)),
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

export async function generateSigningKey(bits: number = DEFAULT_KEY_BITS, now: number = Date.now()): Promise<NewKey> {
  const privateKey = await new Promise<KeyObject>((resolve, reject) =>
    generateKeyPair('rsa', { modulusLength: bits, publicExponent: 0x10001 }, (err, _pub, priv) => (err ? reject(err) : resolve(priv))),
  );
  return describe(privateKey, now);
}

/** Parses a PKCS#8 or PKCS#1 PEM RSA private key of 2048 bits or more; KeyImportError otherwise. */
export async function importPrivateKeyPem(pem: string, now: number = Date.now()): Promise<NewKey> {
  if (!/-----BEGIN (RSA |ENCRYPTED |EC )?PRIVATE KEY-----/.test(pem)) {
    throw new KeyImportError('not a PEM private key (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)');
  }
  if (pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    throw new KeyImportError('the private key is encrypted; decrypt it first (openssl pkey -in FILE -out PLAIN)');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new KeyImportError('the PEM could not be parsed as a private key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new KeyImportError(`expected an RSA key, got ${key.asymmetricKeyType ?? 'an unknown key type'}`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_KEY_BITS) throw new KeyImportError(`the RSA key has ${bits} bits; at least ${MIN_KEY_BITS} are required`);
  return describe(key, now);
}

/** `--bits` / `{"bits"}`: one of KEY_BITS; undefined is the default. */
export function parseKeyBits(raw: unknown): number {
  const bits = raw === undefined ? DEFAULT_KEY_BITS : typeof raw === 'number' || typeof raw === 'string' ? Number(raw) : NaN;
  if (!(KEY_BITS as readonly number[]).includes(bits)) throw new InvalidInputError(`bits must be one of ${KEY_BITS.join(', ')}, got ${JSON.stringify(raw)}`);
  return bits;
}
