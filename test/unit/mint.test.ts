import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { KeySet, TokenMinter, mintToken } from '../../server/tokens/index.js';
import { record, testKey } from '../helpers/keys.js';

const alice = { name: 'Alice', roles: ['ROLE_WONDERLAND', 'ROLE_USER'] };

describe('mintToken', () => {
  it('signs RS512 with typ JWT and the kid; sub, sorted authorities, iss, iat, nbf = iat - skew, exp, a random jti, no aud', async () => {
    const key = await testKey('a');
    const keys = new KeySet([record(key)], Date.now());
    const options = { issuer: 'https://gw.test', audience: null, ttlSeconds: 300, clockSkewSeconds: 30, now: () => 1_700_000_000_000 };
    const token = await mintToken(keys.active!, alice, options);
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'RS512', typ: 'JWT', kid: key.kid });
    const { payload } = await jwtVerify(token, createLocalJWKSet(keys.jwks), { algorithms: ['RS512'], currentDate: new Date(1_700_000_000_000) });
    const { jti, ...rest } = payload;
    assert.deepEqual(rest, { sub: 'Alice', authorities: ['ROLE_USER', 'ROLE_WONDERLAND'], iss: 'https://gw.test', iat: 1_700_000_000, nbf: 1_699_999_970, exp: 1_700_000_300 });
    assert.match(String(jti), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const again = (await jwtVerify(await mintToken(keys.active!, alice, options), createLocalJWKSet(keys.jwks), { currentDate: new Date(1_700_000_000_000) })).payload;
    assert.notEqual(again.jti, jti, 'every token gets its own jti');
  });

  it('authorities is [] for a caller without roles, never absent or null', async () => {
    const keys = new KeySet([record(await testKey('a'))], Date.now());
    const token = await mintToken(keys.active!, { name: 'nobody', roles: [] }, { issuer: 'i', audience: null, ttlSeconds: 60, clockSkewSeconds: 30 });
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual(payload['authorities'], []);
  });

  it('adds aud only when an audience is configured', async () => {
    const keys = new KeySet([record(await testKey('a'))], Date.now());
    const token = await mintToken(keys.active!, alice, { issuer: 'i', audience: 'reports', ttlSeconds: 60, clockSkewSeconds: 30 });
    const { payload } = await jwtVerify(token, createLocalJWKSet(keys.jwks), { audience: 'reports' });
    assert.equal(payload.aud, 'reports');
  });
});

describe('TokenMinter cache', () => {
  async function minter(now: { t: number }) {
    const m = new TokenMinter({ issuer: 'i', audience: null, ttlSeconds: 300, clockSkewSeconds: 30, now: () => now.t });
    m.setKey(new KeySet([record(await testKey('a'))], now.t).active);
    return m;
  }

  it('reuses a token until 80% of its lifetime, then mints a new one', async () => {
    const now = { t: 1_700_000_000_000 };
    const m = await minter(now);
    const first = await m.mint(alice);
    now.t += 239_000;
    assert.equal(await m.mint(alice), first);
    now.t += 2_000;
    const second = await m.mint(alice);
    assert.notEqual(second, first);
  });

  it('keys the cache by user and roles: a role change is visible on the next token', async () => {
    const now = { t: 1_700_000_000_000 };
    const m = await minter(now);
    const before = await m.mint(alice);
    const after = await m.mint({ name: 'Alice', roles: ['ROLE_USER'] });
    assert.notEqual(after, before);
    const { payload } = await jwtVerify(after, createLocalJWKSet(new KeySet([record(await testKey('a'))], now.t).jwks), { currentDate: new Date(now.t) });
    assert.deepEqual(payload['authorities'], ['ROLE_USER']);
  });

  it('switches kid on the next token after a key change', async () => {
    const now = { t: Date.now() };
    const m = await minter(now);
    await m.mint(alice);
    const b = await testKey('b');
    m.setKey(new KeySet([record(b)], now.t).active);
    assert.equal(decodeProtectedHeader(await m.mint(alice)).kid, b.kid);
  });

  it('clear() forces a new token', async () => {
    const now = { t: 1_700_000_000_000 };
    const m = await minter(now);
    const first = await m.mint(alice);
    m.clear();
    now.t += 1000;
    assert.notEqual(await m.mint(alice), first);
  });

  it('peek() gives the cached signed token only while mint() would reuse it, never signing', async () => {
    const now = { t: 1_700_000_000_000 };
    const m = await minter(now);
    assert.equal(m.peek(alice), undefined, 'nothing minted yet');
    const first = await m.mint(alice);
    assert.equal(m.peek(alice), first);
    assert.equal(m.peek({ name: 'Alice', roles: ['ROLE_USER'] }), undefined, 'other roles, other token');
    now.t += 241_000;
    assert.equal(m.peek(alice), undefined, 'past 80% of its lifetime');
    const second = await m.mint(alice);
    assert.equal(m.peek(alice), second);
    m.setKey(new KeySet([record(await testKey('b'))], now.t).active);
    assert.equal(m.peek(alice), undefined, 'a key change');
    await m.mint(alice);
    m.clear();
    assert.equal(m.peek(alice), undefined, 'a user change');
  });

  it('rejects with ERR_NO_SIGNING_KEY without a key', async () => {
    const m = new TokenMinter({ issuer: 'i', audience: null, ttlSeconds: 300, clockSkewSeconds: 30 });
    await assert.rejects(m.mint(alice), { code: 'ERR_NO_SIGNING_KEY' });
  });

  it('stays bounded', async () => {
    const now = { t: Date.now() };
    const m = new TokenMinter({ issuer: 'i', audience: null, ttlSeconds: 300, clockSkewSeconds: 30, now: () => now.t, cacheSize: 3 });
    m.setKey(new KeySet([record(await testKey('a'))], now.t).active);
    const first = await m.mint({ name: 'u0', roles: [] });
    for (let i = 1; i <= 3; i++) await m.mint({ name: `u${i}`, roles: [] });
    now.t += 1000;
    assert.notEqual(await m.mint({ name: 'u0', roles: [] }), first, 'u0 was evicted');
  });
});
