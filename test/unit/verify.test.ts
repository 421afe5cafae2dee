import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { KeySet, mintToken, verifyToken } from '../../server/tokens/index.js';
import { record, testKey } from '../helpers/keys.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('verifyToken', () => {
  const opts = { issuer: 'https://gw.test', audience: null, clockToleranceSeconds: 30 };
  const mintOpts = { issuer: opts.issuer, audience: null, clockSkewSeconds: 30 };

  async function setup() {
    const key = await testKey('a');
    const keys = new KeySet([record(key)], Date.now());
    const token = await mintToken(keys.active!, { name: 'alice', roles: ['ROLE_USER'] }, { ...mintOpts, ttlSeconds: 60 });
    return { key, keys, token };
  }

  it('accepts a token of its own and returns the identity', async () => {
    const { keys, token } = await setup();
    const identity = await verifyToken(token, keys, opts);
    assert.deepEqual({ ...identity }, { name: 'alice', roles: ['ROLE_USER'], via: 'bearer', issuedAt: decodeJwt(token).iat });
    assert.ok(Math.abs(identity.issuedAt! - Date.now() / 1000) < 5, 'issuedAt is the token\'s iat, in seconds');
  });

  it('accepts a token signed by a retiring key until its notAfter', async () => {
    const { key, token } = await setup();
    const now = Date.now();
    const b = await testKey('b');
    const keys = new KeySet([record(key, 'retiring', now + 60_000), record(b)], now);
    assert.equal((await verifyToken(token, keys, opts)).name, 'alice');
    const later = new KeySet([record(key, 'retiring', now + 60_000), record(b)], now + 60_000);
    await assert.rejects(verifyToken(token, later, opts), { code: 'ERR_INVALID_TOKEN' });
  });

  it('accepts a token signed by the next key (published, not signing yet)', async () => {
    const { key } = await setup();
    const b = await testKey('b');
    const keys = new KeySet([record(key), record(b, 'next')], Date.now());
    const signedByNext = await mintToken({ kid: b.kid, privateKey: createPrivateKey(b.privateKey) }, { name: 'n', roles: [] }, { ...mintOpts, ttlSeconds: 60 });
    assert.equal((await verifyToken(signedByNext, keys, opts)).name, 'n');
  });

  it('accepts a clock skew of --clock-skew, not more, on exp, nbf and iat', async () => {
    const { keys } = await setup();
    const t0 = 1_700_000_000_000;
    // A verifier 25 s behind the minting host sees iat in the future and (with nbf = iat) nbf too: within 30 s.
    const ahead = await mintToken(keys.active!, { name: 'a', roles: [] }, { ...mintOpts, clockSkewSeconds: 0, ttlSeconds: 60, now: () => t0 + 25_000 });
    assert.equal((await verifyToken(ahead, keys, { ...opts, now: () => t0 })).name, 'a');
    const farAhead = await mintToken(keys.active!, { name: 'a', roles: [] }, { ...mintOpts, clockSkewSeconds: 0, ttlSeconds: 60, now: () => t0 + 35_000 });
    await assert.rejects(verifyToken(farAhead, keys, { ...opts, now: () => t0 }), { code: 'ERR_INVALID_TOKEN' });
    // exp: 25 s after it passed is within the skew, 35 s is not.
    const token = await mintToken(keys.active!, { name: 'a', roles: [] }, { ...mintOpts, ttlSeconds: 60, now: () => t0 });
    assert.equal((await verifyToken(token, keys, { ...opts, now: () => t0 + 85_000 })).name, 'a');
    await assert.rejects(verifyToken(token, keys, { ...opts, now: () => t0 + 95_000 }), { code: 'ERR_INVALID_TOKEN' });
    await assert.rejects(verifyToken(token, keys, { ...opts, clockToleranceSeconds: 5, now: () => t0 + 70_000 }), { code: 'ERR_INVALID_TOKEN' }, 'the tolerance is the option, not a constant');
  });

  const cases: Array<[string, (t: { token: string; keys: KeySet; key: Awaited<ReturnType<typeof testKey>> }) => Promise<[string, KeySet, Parameters<typeof verifyToken>[2]]>]> = [
    ['expired', async ({ keys, token }) => [token, keys, { ...opts, now: () => Date.now() + 3_600_000 }]],
    ['not yet valid (iat in the future)', async ({ keys }) => {
      const t = await mintToken(keys.active!, { name: 'a', roles: [] }, { ...mintOpts, ttlSeconds: 60, now: () => Date.now() + 600_000 });
      return [t, keys, opts];
    }],
    ['wrong issuer', async ({ keys, token }) => [token, keys, { ...opts, issuer: 'https://other.test' }]],
    ['wrong audience', async ({ keys, token }) => [token, keys, { ...opts, audience: 'reports' }]],
    ['unknown kid', async ({ token }) => [token, new KeySet([record(await testKey('b'))], Date.now()), opts]],
    ['alg none', async ({ keys, token }) => {
      const [, payload] = token.split('.');
      return [`${b64({ alg: 'none', typ: 'JWT', kid: keys.active!.kid })}.${payload}.`, keys, opts];
    }],
    ['HS512 signed with the public key', async ({ keys, token, key }) => {
      const [, payload] = token.split('.');
      const header = b64({ alg: 'HS512', typ: 'JWT', kid: key.kid });
      const pem = createPublicKey(keys.active!.privateKey).export({ type: 'spki', format: 'pem' });
      const sig = createHmac('sha512', pem).update(`${header}.${payload}`).digest('base64url');
      return [`${header}.${payload}.${sig}`, keys, opts];
    }],
    ['tampered payload', async ({ keys, token }) => {
      const [h, p, s] = token.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
      claims['authorities'] = ['ROLE_ADMIN'];
      return [`${h}.${b64(claims)}.${s}`, keys, opts];
    }],
    ['garbage', async ({ keys }) => ['not.a.jwt', keys, opts]],
  ];
  for (const [name, make] of cases) {
    it(`rejects: ${name}`, async () => {
      const [token, keys, options] = await make(await setup());
      await assert.rejects(verifyToken(token, keys, options), { code: 'ERR_INVALID_TOKEN', status: 401 });
    });
  }
});
