import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { hashPassword, parseBasicAuthorization, PasswordVerifier } from '../../server/identity/index.js';
import type { UserRecord } from '../../server/store/index.js';

const header = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

describe('parseBasicAuthorization', () => {
  it('splits at the first colon', () => {
    assert.deepEqual(parseBasicAuthorization(header('alice:pa:ss')), { name: 'alice', password: 'pa:ss' });
    assert.deepEqual(parseBasicAuthorization(`bAsIc ${Buffer.from('a:').toString('base64')}`), { name: 'a', password: '' });
  });
  it('refuses malformed headers', () => {
    assert.equal(parseBasicAuthorization(header(`${'n'.repeat(129)}:pw`)), null, 'no user can have a name that long');
    assert.notEqual(parseBasicAuthorization(header(`${'n'.repeat(128)}:pw`)), null);
    for (const bad of ['Basic', 'Basic !!!', header('no-colon'), header(':nouser'), 'Bearer abc', `Basic ${Buffer.from('a:b').toString('base64')}x`]) {
      assert.equal(parseBasicAuthorization(bad), null, bad);
    }
  });
});

describe('PasswordVerifier', () => {
  async function setup() {
    const users = new Map<string, UserRecord>([['alice', { name: 'alice', roles: ['ROLE_USER'], passwordHash: await hashPassword('alice-password'), passwordVersion: 1, createdAt: 1 }]]);
    let lookups = 0;
    const store = { getUser: async (name: string) => (lookups++, users.get(name)) };
    return { users, store, verifier: new PasswordVerifier({ store }), lookups: () => lookups };
  }

  it('returns the identity for the right password, null otherwise', async () => {
    const { verifier } = await setup();
    assert.deepEqual({ ...(await verifier.verify(header('alice:alice-password'))) }, { name: 'alice', roles: ['ROLE_USER'], via: 'basic', passwordVersion: 1 });
    assert.equal(await verifier.verify(header('alice:wrong')), null);
    assert.equal(await verifier.verify(header('nobody:alice-password')), null);
  });

  it('caches a successful check, and invalidate() makes a role change visible on the next request', async () => {
    const { users, verifier, lookups } = await setup();
    await verifier.verify(header('alice:alice-password'));
    await verifier.verify(header('alice:alice-password'));
    assert.equal(lookups(), 2, 'one check: the user is read before the hash and again after it');
    users.set('alice', { ...users.get('alice')!, roles: ['ROLE_ADMIN'] });
    verifier.invalidate();
    assert.deepEqual((await verifier.verify(header('alice:alice-password')))?.roles, ['ROLE_ADMIN']);
  });

  it('cached() answers from recent successful checks of the same header only, without hashing', async () => {
    const { users, verifier, lookups } = await setup();
    const good = header('alice:alice-password');
    assert.equal(verifier.cached(good), undefined);
    assert.equal(await verifier.verify(header('alice:wrong')), null);
    assert.equal(verifier.cached(header('alice:wrong')), undefined, 'failures are not cached');
    await verifier.verify(good);
    assert.equal(verifier.cached(good)?.name, 'alice');
    assert.equal(lookups(), 3, 'a failed check reads once, a successful one twice');
    users.set('alice', { ...users.get('alice')!, roles: ['ROLE_ADMIN'] });
    verifier.invalidate();
    assert.equal(verifier.cached(good), undefined, 'a user change empties the cache');
  });

  it('refuses a malformed header with ERR_UNAUTHORIZED', async () => {
    const { verifier } = await setup();
    for (const bad of ['Basic ???', header('no-colon'), 'Basic']) await assert.rejects(verifier.verify(bad), { code: 'ERR_UNAUTHORIZED' }, bad);
  });

  it('upgrades a hash made with older scrypt parameters after a successful login (never after a failed one)', async () => {
    const salt = randomBytes(16);
    const legacy = `scrypt$16384$8$1$${salt.toString('base64url')}$${scryptSync('old-params-password', salt, 32, { N: 16384, r: 8, p: 1 }).toString('base64url')}`;
    const users = new Map<string, UserRecord>([['olga', { name: 'olga', roles: ['ROLE_USER'], passwordHash: legacy, passwordVersion: 1, createdAt: 1 }]]);
    const replaced: string[] = [];
    const store = {
      getUser: async (name: string) => users.get(name),
      replacePasswordHash: async (name: string, expected: string, replacement: string) => {
        replaced.push(replacement);
        const user = users.get(name);
        if (user?.passwordHash !== expected) return false;
        users.set(name, { ...user, passwordHash: replacement });
        return true;
      },
    };
    const verifier = new PasswordVerifier({ store });
    assert.equal(await verifier.verify(header('olga:wrong-password')), null);
    assert.equal((await verifier.verify(header('olga:old-params-password')))?.name, 'olga');
    for (let i = 0; i < 100 && replaced.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(replaced.length, 1);
    assert.match(users.get('olga')!.passwordHash!, /^scrypt\$32768\$8\$1\$/);
    verifier.invalidate();
    assert.equal((await verifier.verify(header('olga:old-params-password')))?.name, 'olga', 'the new hash verifies the same password');
  });

  it('concurrent requests with the same credentials share one hash', async () => {
    const { verifier, lookups } = await setup();
    const results = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(header('alice:alice-password'))));
    assert.equal(lookups(), 2);
    assert.ok(results.every((r) => r?.name === 'alice'));
  });

  it('a cached check expires', async () => {
    const now = { t: 0 };
    const { store } = await setup();
    let lookups = 0;
    const verifier = new PasswordVerifier({ store: { getUser: (n) => (lookups++, store.getUser(n)) }, cacheTtlMs: 1000, now: () => now.t });
    await verifier.verify(header('alice:alice-password'));
    now.t = 1001;
    await verifier.verify(header('alice:alice-password'));
    assert.equal(lookups, 4);
  });

  it('every spelling of one credential (scheme case, spaces, non-canonical base64) is one cache entry and one hash', async () => {
    const { verifier, lookups } = await setup();
    const encoded = Buffer.from('alice:alice-password').toString('base64');
    // The last base64 character carries 2 unused bits: flipping them spells the same bytes.
    const last = encoded.replace(/=+$/, '').slice(-1);
    const sibling = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const flipped = encoded.replace(/[^=](=*)$/, `${sibling[sibling.indexOf(last) ^ 1]}$1`);
    assert.deepEqual(Buffer.from(flipped, 'base64'), Buffer.from(encoded, 'base64'), 'the test spells the same bytes');
    assert.notEqual(flipped, encoded);
    const spellings = [`Basic ${encoded}`, `basic ${encoded}`, `BASIC ${encoded}`, `bAsIc ${encoded}`, `Basic   ${encoded}`, `Basic ${encoded}  `, `Basic ${flipped}`];
    for (const spelling of spellings) assert.equal((await verifier.verify(spelling))?.name, 'alice', spelling);
    assert.equal(lookups(), 2, 'one full check for all of them');
    for (const spelling of spellings) assert.equal(verifier.cached(spelling)?.name, 'alice', spelling);
  });

  it('answers from the user as it is after the hash: deleted, new password → null; demoted → current roles', async () => {
    const { users, verifier } = await setup();
    const good = header('alice:alice-password');
    const deleted = verifier.verify(good);
    users.delete('alice');
    verifier.invalidate(['alice']);
    assert.equal(await deleted, null, 'deleted while its check was hashing');
    users.set('alice', { name: 'alice', roles: ['ROLE_ADMIN', 'ROLE_USER'], passwordHash: await hashPassword('alice-password'), passwordVersion: 1, createdAt: 1 });
    const demoted = verifier.verify(good);
    users.set('alice', { ...users.get('alice')!, roles: ['ROLE_USER'] });
    verifier.invalidate(['alice']);
    assert.deepEqual((await demoted)?.roles, ['ROLE_USER'], 'demoted while its check was hashing');
    verifier.invalidate(['alice']);
    const sameAgain = await hashPassword('alice-password');
    const reset = verifier.verify(good);
    users.set('alice', { ...users.get('alice')!, passwordHash: sameAgain, passwordVersion: 2 });
    verifier.invalidate(['alice']);
    assert.equal(await reset, null, 'a new password (even the same one) voids a check made against the old hash');
  });

  it('invalidate(names) drops only those users; isCurrent tells whether a handed-out identity still holds', async () => {
    const { users, verifier, lookups } = await setup();
    users.set('bob', { name: 'bob', roles: ['ROLE_USER'], passwordHash: await hashPassword('bob-password'), passwordVersion: 1, createdAt: 1 });
    const alice = (await verifier.verify(header('alice:alice-password')))!;
    const bob = (await verifier.verify(header('bob:bob-password')))!;
    verifier.invalidate(['alice']);
    assert.equal(verifier.isCurrent(alice), false);
    assert.equal(verifier.isCurrent(bob), true);
    assert.equal(verifier.cached(header('alice:alice-password')), undefined);
    assert.equal(verifier.cached(header('bob:bob-password')), bob, 'bob keeps his cached check');
    const before = lookups();
    await verifier.verify(header('bob:bob-password'));
    assert.equal(lookups(), before);
    verifier.invalidate();
    assert.equal(verifier.isCurrent(bob), false, 'invalidate() drops everyone');
  });
});

