/**
 * The one conformance suite every Store backend must pass (SQLite today, Redis next): call
 * `storeConformance('name', factory)` from a test file per backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../server/store/index.js';

export interface StoreFactory {
  /** A fresh, empty store. */
  create(): Promise<Store>;
  /** A second handle on the same data (another process would see this). */
  reopen(store: Store): Promise<Store>;
}

const key = (kid: string, createdAt = 1) => ({ kid, bits: 2048, createdAt, publicJwk: JSON.stringify({ kty: 'RSA', kid }), privateKey: `pem-${kid}` });

export function storeConformance(name: string, factory: StoreFactory): void {
  describe(`Store conformance: ${name}`, () => {
    it('starts empty: no proxy URL, no users, no keys', async () => {
      const store = await factory.create();
      assert.equal(await store.getProxyUrl(), null);
      assert.deepEqual(await store.listUsers(), []);
      assert.equal(await store.countUsers(), 0);
      assert.deepEqual(await store.listKeys(), []);
      await store.close();
    });

    it('stores and clears the proxy URL, and every write bumps the revision', async () => {
      const store = await factory.create();
      const r0 = await store.revision();
      await store.setProxyUrl('http://example.test:81/base');
      assert.equal(await store.getProxyUrl(), 'http://example.test:81/base');
      const r1 = await store.revision();
      assert.ok(r1 > r0);
      await store.setProxyUrl(null);
      assert.equal(await store.getProxyUrl(), null);
      assert.ok((await store.revision()) > r1);
      await store.close();
    });

    it('creates, patches and deletes users', async () => {
      const store = await factory.create();
      const created = await store.upsertUser('alice', { roles: ['ROLE_USER'], passwordHash: 'h1' });
      assert.equal(created.created, true);
      assert.deepEqual(created.user, { name: 'alice', roles: ['ROLE_USER'], passwordHash: 'h1' });
      const rolesOnly = await store.upsertUser('alice', { roles: ['ROLE_A', 'ROLE_USER'] });
      assert.equal(rolesOnly.created, false);
      assert.deepEqual(await store.getUser('alice'), { name: 'alice', roles: ['ROLE_A', 'ROLE_USER'], passwordHash: 'h1' });
      await store.upsertUser('alice', { passwordHash: 'h2' });
      assert.equal((await store.getUser('alice'))?.passwordHash, 'h2');
      const bare = await store.upsertUser('bob', {});
      assert.deepEqual(bare.user, { name: 'bob', roles: [], passwordHash: null });
      assert.deepEqual((await store.listUsers()).map((u) => u.name), ['alice', 'bob']);
      assert.equal(await store.deleteUser('bob'), true);
      assert.equal(await store.deleteUser('bob'), false);
      assert.equal(await store.getUser('bob'), undefined);
      assert.equal(await store.countUsers(), 1);
      await store.close();
    });

    it('replacePasswordHash swaps the hash only while it is the expected one, without moving the revision', async () => {
      const store = await factory.create();
      await store.upsertUser('alice', { roles: ['ROLE_USER'], passwordHash: 'old' });
      const revision = await store.revision();
      assert.equal(await store.replacePasswordHash('alice', 'other', 'new'), false);
      assert.equal(await store.replacePasswordHash('nobody', 'old', 'new'), false);
      assert.equal(await store.replacePasswordHash('alice', 'old', 'new'), true);
      assert.deepEqual(await store.getUser('alice'), { name: 'alice', roles: ['ROLE_USER'], passwordHash: 'new' });
      assert.equal(await store.replacePasswordHash('alice', 'old', 'newer'), false, 'already replaced');
      assert.equal(await store.revision(), revision);
      await store.close();
    });

    it('user names are case-sensitive and may hold any printable text', async () => {
      const store = await factory.create();
      await store.upsertUser('Zoë "x" \'; DROP TABLE users; --', { roles: ['R'] });
      await store.upsertUser('zoë "x" \'; drop table users; --', { roles: ['S'] });
      assert.equal(await store.countUsers(), 2);
      assert.deepEqual((await store.getUser('Zoë "x" \'; DROP TABLE users; --'))?.roles, ['R']);
      await store.close();
    });

    it('createFirstUser only succeeds on an empty user table', async () => {
      const store = await factory.create();
      assert.equal(await store.createFirstUser({ name: 'admin', roles: ['ROLE_ADMIN'], passwordHash: 'h' }), true);
      assert.equal(await store.createFirstUser({ name: 'other', roles: [], passwordHash: 'h' }), false);
      assert.deepEqual((await store.listUsers()).map((u) => u.name), ['admin']);
      await store.close();
    });

    it('key transitions: first keys, rotation, retirement, emergency, a replaced next key', async () => {
      const store = await factory.create();
      const states = async () => (await store.listKeys()).map((k) => [k.kid, k.state]);
      const none = { active: null, next: null };
      assert.equal(await store.replaceSigningKeys({ expected: none, active: key('a1', 1), next: key('n1', 1), now: 100 }), true);
      let keys = await store.listKeys();
      assert.deepEqual(keys.map((k) => [k.kid, k.state, k.publishedAt, k.activatesAt, k.notAfter, k.privateKey]), [['a1', 'active', 100, 100, null, 'pem-a1'], ['n1', 'next', 100, null, null, 'pem-n1']]);
      assert.equal(await store.replaceSigningKeys({ expected: none, active: key('x', 2), next: key('y', 2), now: 110 }), false, 'not empty any more');

      // Routine rotation: next -> active, active -> retiring, a new next key.
      const r0 = await store.revision();
      assert.equal(await store.promoteNextKey({ expected: { active: 'a1', next: 'n1' }, newNext: key('n2', 3), previousNotAfter: 5000, now: 200 }), true);
      assert.ok((await store.revision()) > r0);
      keys = await store.listKeys();
      assert.deepEqual(keys.map((k) => [k.kid, k.state, k.publishedAt, k.activatesAt, k.notAfter]), [['a1', 'retiring', 100, 100, 5000], ['n1', 'active', 100, 200, null], ['n2', 'next', 200, null, null]]);

      // Retirement at notAfter, private key erased; nothing due writes nothing.
      const r1 = await store.revision();
      assert.equal(await store.retireExpiredKeys(4999), 0);
      assert.equal(await store.revision(), r1, 'nothing due: no write');
      assert.equal(await store.retireExpiredKeys(5000), 1);
      assert.deepEqual((await store.listKeys()).map((k) => [k.kid, k.state, k.privateKey]), [['a1', 'retired', null], ['n1', 'active', 'pem-n1'], ['n2', 'next', 'pem-n2']]);

      // A replaced next key never signed: retired at once, private key erased.
      assert.equal(await store.replaceNextKey({ expected: { active: 'n1', next: 'n2' }, next: key('i1', 4), now: 6000 }), true);
      keys = await store.listKeys();
      assert.deepEqual(keys.filter((k) => k.kid === 'n2' || k.kid === 'i1').map((k) => [k.kid, k.state, k.notAfter, k.privateKey, k.publishedAt]), [['n2', 'retired', 6000, null, 200], ['i1', 'next', null, 'pem-i1', 6000]]);

      // Emergency: both the active and the next key retired now, two new keys.
      assert.equal(await store.replaceSigningKeys({ expected: { active: 'n1', next: 'i1' }, active: key('e1', 5), next: key('e2', 5), now: 7000 }), true);
      assert.deepEqual(await states(), [['a1', 'retired'], ['n1', 'retired'], ['n2', 'retired'], ['i1', 'retired'], ['e1', 'active'], ['e2', 'next']]);
      assert.ok((await store.listKeys()).filter((k) => k.state === 'retired').every((k) => k.privateKey === null));
      await store.close();
    });

    it('key transitions are compare-and-set: a stale expectation writes nothing, a kid is never inserted twice', async () => {
      const store = await factory.create();
      await store.replaceSigningKeys({ expected: { active: null, next: null }, active: key('a1', 1), next: key('n1', 1), now: 100 });
      const before = JSON.stringify(await store.listKeys());
      const revision = await store.revision();
      for (const expected of [{ active: 'a1', next: 'other' }, { active: 'other', next: 'n1' }, { active: null, next: 'n1' }]) {
        assert.equal(await store.promoteNextKey({ expected, newNext: key('n2', 2), previousNotAfter: 900, now: 200 }), false, JSON.stringify(expected));
        assert.equal(await store.replaceNextKey({ expected, next: key('n3', 2), now: 200 }), false);
        assert.equal(await store.replaceSigningKeys({ expected, active: key('x1', 2), next: key('x2', 2), now: 200 }), false);
      }
      assert.equal(JSON.stringify(await store.listKeys()), before);
      assert.equal(await store.revision(), revision, 'a refused transition does not move the revision');
      await assert.rejects(store.replaceNextKey({ expected: { active: 'a1', next: 'n1' }, next: key('a1', 3), now: 300 }), 'a kid is never inserted twice');
      assert.equal(JSON.stringify(await store.listKeys()), before, 'the failed insert changed nothing');
      await store.close();
    });

    it('two handles racing the same rotation: exactly one applies it', async () => {
      const store = await factory.create();
      const other = await factory.reopen(store);
      await store.replaceSigningKeys({ expected: { active: null, next: null }, active: key('a1', 1), next: key('n1', 1), now: 100 });
      const expected = { active: 'a1', next: 'n1' };
      const results = await Promise.all([
        store.promoteNextKey({ expected, newNext: key('n2', 2), previousNotAfter: 900, now: 200 }),
        other.promoteNextKey({ expected, newNext: key('n3', 2), previousNotAfter: 900, now: 200 }),
      ]);
      assert.deepEqual(results.sort(), [false, true]);
      const keys = await other.listKeys();
      assert.equal(keys.filter((k) => k.state === 'active').length, 1);
      assert.equal(keys.filter((k) => k.state === 'next').length, 1);
      assert.equal(keys.length, 3);
      await other.close();
      await store.close();
    });

    it('rewrites private key material', async () => {
      const store = await factory.create();
      await store.replaceSigningKeys({ expected: { active: null, next: null }, active: key('k1', 1), next: key('k2', 2), now: 0 });
      assert.equal(await store.rewritePrivateKeys((kid, pem) => `sealed(${kid},${pem})`), 2);
      assert.deepEqual((await store.listKeys()).map((k) => k.privateKey), ['sealed(k1,pem-k1)', 'sealed(k2,pem-k2)']);
      await store.close();
    });

    it('a second handle sees every change and the revision moves for it', async () => {
      const store = await factory.create();
      const other = await factory.reopen(store);
      const before = await other.revision();
      await store.setProxyUrl('http://a.test');
      await store.upsertUser('carol', { roles: ['ROLE_USER'] });
      assert.ok((await other.revision()) > before);
      assert.equal(await other.getProxyUrl(), 'http://a.test');
      assert.deepEqual((await other.getUser('carol'))?.roles, ['ROLE_USER']);
      await other.close();
      await store.close();
    });

    it('has one stable deployment id, the same through every handle', async () => {
      const store = await factory.create();
      const id = await store.deploymentId();
      assert.match(id, /^[\w-]{8,64}$/);
      assert.equal(await store.deploymentId(), id);
      const other = await factory.reopen(store);
      assert.equal(await other.deploymentId(), id);
      await other.close();
      await store.close();
    });

    it('data survives close and reopen', async () => {
      const store = await factory.create();
      await store.setProxyUrl('http://persist.test');
      await store.upsertUser('dave', { roles: ['ROLE_USER'], passwordHash: 'h' });
      const again = await factory.reopen(store);
      await store.close();
      assert.equal(await again.getProxyUrl(), 'http://persist.test');
      assert.equal((await again.getUser('dave'))?.passwordHash, 'h');
      await again.close();
    });
  });
}
