import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint } from 'jose';
import { importPrivateKeyPem, KeySet } from '../../server/tokens/index.js';
import { record, testKey } from '../helpers/keys.js';

function rsaPem(bits: number, type: 'pkcs1' | 'pkcs8'): string {
  return generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ type, format: 'pem' }).toString();
}

describe('importPrivateKeyPem', () => {
  it('imports PKCS#8 and PKCS#1 RSA keys with the RFC 7638 thumbprint as kid', async () => {
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      const key = await importPrivateKeyPem(rsaPem(2048, type));
      assert.equal(key.bits, 2048);
      const jwk = JSON.parse(key.publicJwk) as { kty: string; n: string; e: string; kid: string; alg: string; use: string };
      assert.equal(key.kid, await calculateJwkThumbprint({ kty: jwk.kty, n: jwk.n, e: jwk.e }));
      assert.deepEqual([jwk.kid, jwk.alg, jwk.use], [key.kid, 'RS512', 'sig']);
      assert.match(key.privateKey!, /^-----BEGIN PRIVATE KEY-----/);
    }
  });

  it('gives the same kid to the same key', async () => {
    const pem = rsaPem(2048, 'pkcs8');
    assert.equal((await importPrivateKeyPem(pem)).kid, (await importPrivateKeyPem(pem)).kid);
  });

  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const encrypted = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
  const publicOnly = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const bad: Array<[string, string]> = [
    ['an EC key', ec],
    ['an Ed25519 key', ed],
    ['a 1024-bit RSA key', rsaPem(1024, 'pkcs8')],
    ['an encrypted key', encrypted],
    ['a public key', publicOnly],
    ['garbage', 'hello'],
    ['a truncated PEM', rsaPem(2048, 'pkcs8').slice(0, 300)],
  ];
  for (const [what, pem] of bad) {
    it(`refuses ${what} with ERR_KEY_IMPORT`, async () => {
      await assert.rejects(importPrivateKeyPem(pem), { code: 'ERR_KEY_IMPORT' });
    });
  }
});

describe('KeySet', () => {
  it('publishes the next key, the active key and retiring keys until notAfter, and signs with the active one', async () => {
    const [a, b, c, d] = await Promise.all([testKey('a'), testKey('b'), testKey('c'), testKey('d')]);
    const now = 1_000_000;
    const set = new KeySet([record(a, 'retired', now - 1), record(b, 'retiring', now + 10), record(c, 'active'), record(d, 'next')], now);
    assert.equal(set.active?.kid, c.kid);
    assert.equal(set.nextKid, d.kid);
    assert.deepEqual(set.jwks.keys.map((k) => k.kid), [c.kid, d.kid, b.kid], 'the active key first: keys[0] is the one that signs');
    assert.deepEqual([...set.published.keys()].sort(), [b.kid, c.kid, d.kid].sort());
    for (const k of set.jwks.keys) {
      assert.deepEqual(Object.keys(k).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    }
    const later = new KeySet([record(b, 'retiring', now + 10), record(c, 'active'), record(d, 'next')], now + 10);
    assert.deepEqual(later.jwks.keys.map((k) => k.kid), [c.kid, d.kid]);
    assert.notEqual(later.fingerprint, set.fingerprint);
  });

  it('has a strong ETag that is the same for the same keys and changes with them', async () => {
    const [a, b] = await Promise.all([testKey('a'), testKey('b')]);
    const one = new KeySet([record(a), record(b, 'next')], 0);
    assert.match(one.jwksEtag, /^"[\w-]{43}"$/, 'strong: quoted, no W/');
    assert.equal(new KeySet([record(a), record(b, 'next')], 5).jwksEtag, one.jwksEtag, 'another replica, another time: same keys, same ETag');
    assert.notEqual(new KeySet([record(a)], 0).jwksEtag, one.jwksEtag);
  });
});
