/**
 * The in-memory view of the store's keys that the hot path reads: the active signing key, the
 * published public keys (active + retiring until their notAfter) and the JWKS, built once per
 * change rather than per request.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { KeyRecord } from '../store/index.js';
import { openPrivateKey, type KeyEncryption } from './key-encryption.js';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

export interface JwkSet {
  keys: JWK[];
}

export class KeySet {
  readonly active: SigningKey | null;
  /** kid → public key, for verification. */
  readonly published: ReadonlyMap<string, KeyObject>;
  readonly jwks: JwkSet;
  /** The JWKS serialized once. */
  readonly jwksJson: string;
  /** Identifies this set of keys and states; a different value means the keys changed. */
  readonly fingerprint: string;
  /** When this set must be rebuilt: the earliest pending activation or retiring notAfter, or null. */
  readonly nextChange: number | null;

  /** The published keys only, without opening any private key (CLI export and verify). */
  static publicOnly(records: readonly KeyRecord[], now: number): KeySet {
    return new KeySet(records.map((r) => ({ ...r, privateKey: null })), now);
  }

  /**
   * Published: pending keys (publish first, sign later), the active key, and retiring keys until
   * their notAfter. Throws KeyEncryptionError when the active key is sealed and cannot be opened.
   */
  constructor(records: readonly KeyRecord[], now: number, encryption: KeyEncryption | null = null) {
    const publishedRecords = records.filter(
      (r) => r.state === 'pending' || r.state === 'active' || (r.state === 'retiring' && r.notAfter !== null && r.notAfter > now),
    );
    const active = records.find((r) => r.state === 'active' && r.privateKey !== null);
    this.active = active ? { kid: active.kid, privateKey: createPrivateKey(openPrivateKey(active.privateKey!, encryption)) } : null;
    const published = new Map<string, KeyObject>();
    const jwks: JWK[] = [];
    for (const r of publishedRecords) {
      const jwk = JSON.parse(r.publicJwk) as JWK;
      published.set(r.kid, createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }));
      jwks.push(jwk);
    }
    this.published = published;
    this.jwks = { keys: jwks };
    this.jwksJson = JSON.stringify(this.jwks);
    this.fingerprint = publishedRecords.map((r) => `${r.kid}:${r.state}`).join(',');
    const changes = publishedRecords.flatMap((r) =>
      r.state === 'pending' && r.activatesAt !== null ? [r.activatesAt] : r.state === 'retiring' ? [r.notAfter!] : [],
    );
    this.nextChange = changes.length > 0 ? Math.min(...changes) : null;
  }
}
