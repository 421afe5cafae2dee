/**
 * The in-memory view of the store's keys that the hot path reads: the active signing key, the
 * published public keys (the life cycle's `isPublished`: next, active, retiring until notAfter)
 * and the JWKS with its ETag, built once per change rather than per request.
 */
import { createHash, createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { KeyRecord } from '../store/index.js';
import { openPrivateKey, type KeyEncryption } from './key-encryption.js';
import { isPublished } from './key-lifecycle/rules.js';

const STATE_ORDER: Readonly<Record<KeyRecord['state'], number>> = { active: 0, next: 1, retiring: 2, retired: 3 };

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

export interface JwkSet {
  keys: JWK[];
}

export class KeySet {
  readonly active: SigningKey | null;
  /** The kid of the next key (published, not signing), or null. */
  readonly nextKid: string | null;
  /** kid → public key, for verification. */
  readonly published: ReadonlyMap<string, KeyObject>;
  readonly jwks: JwkSet;
  /** The JWKS serialized once. */
  readonly jwksJson: string;
  /**
   * Strong ETag of `jwksJson`: a hash of the bytes, so every replica serving the same keys
   * answers the same ETag and a revalidation (If-None-Match) gets 304 from any of them.
   */
  readonly jwksEtag: string;
  /** Identifies this set of keys and states; a different value means the keys changed. */
  readonly fingerprint: string;

  /** The published keys only, without opening any private key (CLI export and verify). */
  static publicOnly(records: readonly KeyRecord[], now: number): KeySet {
    return new KeySet(records.map((r) => ({ ...r, privateKey: null })), now);
  }

  /** Throws KeyEncryptionError when the active key is sealed and cannot be opened. */
  constructor(records: readonly KeyRecord[], now: number, encryption: KeyEncryption | null = null) {
    // The active key first, then the next key, then retiring keys, newest first: a client that
    // naively takes keys[0] (a PEM converted from the JWKS) gets the key that signs.
    const publishedRecords = records.filter((r) => isPublished(r, now)).sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.publishedAt - a.publishedAt);
    const active = records.find((r) => r.state === 'active' && r.privateKey !== null);
    this.active = active ? { kid: active.kid, privateKey: createPrivateKey(openPrivateKey(active.privateKey!, encryption)) } : null;
    this.nextKid = records.find((r) => r.state === 'next')?.kid ?? null;
    const published = new Map<string, KeyObject>();
    const jwks: JWK[] = [];
    for (const r of publishedRecords) {
      const jwk = JSON.parse(r.publicJwk) as JWK;
      published.set(r.kid, createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }));
      jwks.push(jwk);
    }
    this.published = published;
    this.jwks = { keys: jwks };
    this.jwksJson = JSON.stringify(this.jwks);
    this.jwksEtag = `"${createHash('sha256').update(this.jwksJson).digest('base64url')}"`;
    this.fingerprint = publishedRecords.map((r) => `${r.kid}:${r.state}`).join(',');
  }
}
