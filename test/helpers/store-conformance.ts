/**
 * The one conformance suite every Store backend must pass (SQLite today, Redis next): call
 * `storeConformance('name', factory)` from a test file per backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../server/store/index.js';
import { keyConformance } from './store-conformance-keys.js';
import { sessionConformance } from './store-conformance-sessions.js';

export interface StoreFactory {
  /** A fresh, empty store; `changesKept` and `now` as in StoreOptions. */
  create(options?: { changesKept?: number; now?: () => number }): Promise<Store>;
  /** A second handle on the same data (another process would see this). */
  reopen(store: Store): Promise<Store>;
}

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
      const store = await factory.create({ now: () => 5000 });
      const created = await store.upsertUser('alice', { roles: ['ROLE_USER'], passwordHash: 'h1' });
      assert.equal(created.created, true);
      const v1 = created.user.passwordVersion;
      assert.deepEqual(created.user, { name: 'alice', roles: ['ROLE_USER'], passwordHash: 'h1', passwordVersion: v1, createdAt: 5000 });
      assert.ok(v1 > 0);
      const rolesOnly = await store.upsertUser('alice', { roles: ['ROLE_A', 'ROLE_USER'] });
      assert.equal(rolesOnly.created, false);
      assert.deepEqual(await store.getUser('alice'), { name: 'alice', roles: ['ROLE_A', 'ROLE_USER'], passwordHash: 'h1', passwordVersion: v1, createdAt: 5000 }, 'a roles-only change keeps the password version');
      await store.upsertUser('alice', { passwordHash: 'h2' });
      const v2 = (await store.getUser('alice'))!.passwordVersion;
      assert.ok(v2 !== v1, 'a new password changes it');
      assert.deepEqual(await store.getUser('alice'), { name: 'alice', roles: ['ROLE_A', 'ROLE_USER'], passwordHash: 'h2', passwordVersion: v2, createdAt: 5000 });
      await store.deleteUser('alice');
      await store.upsertUser('alice', { passwordHash: 'h1' });
      const v3 = (await store.getUser('alice'))!.passwordVersion;
      assert.ok(v3 !== v1 && v3 !== v2, 'a user deleted and created again never gets an old version back');
      await store.deleteUser('alice');
      await store.upsertUser('alice', { roles: ['ROLE_A', 'ROLE_USER'], passwordHash: 'h2' });
      const bare = await store.upsertUser('bob', {});
      assert.deepEqual(bare.user, { name: 'bob', roles: [], passwordHash: null, passwordVersion: 0, createdAt: 5000 });
      assert.deepEqual((await store.listUsers()).map((u) => u.name), ['alice', 'bob']);
      assert.equal(await store.deleteUser('bob'), true);
      assert.equal(await store.deleteUser('bob'), false);
      assert.equal(await store.getUser('bob'), undefined);
      assert.equal(await store.countUsers(), 1);
      await store.close();
    });

    it('a user\'s creation time is set once, kept by every update, and new for a user deleted and created again', async () => {
      let clock = 1000;
      const store = await factory.create({ now: () => clock });
      assert.equal((await store.upsertUser('ann', {})).user.createdAt, 1000, 'an empty patch creates too (auto-created users)');
      clock = 2000;
      assert.equal((await store.upsertUser('ann', { roles: ['R'] })).user.createdAt, 1000);
      assert.equal((await store.upsertUser('ann', { passwordHash: 'h' })).user.createdAt, 1000, 'a new password is the same user');
      assert.equal((await store.upsertUser('ann', { passwordHash: null })).user.createdAt, 1000);
      assert.equal(await store.replacePasswordHash('ann', 'nope', 'x'), false);
      assert.deepEqual((await store.listUsers()).map((u) => [u.name, u.createdAt]), [['ann', 1000]]);
      await store.deleteUser('ann');
      clock = 3000;
      await store.upsertUser('ann', { roles: ['R'], passwordHash: 'h' });
      assert.equal((await store.getUser('ann'))?.createdAt, 3000, 'deleted and created again: another user');
      const other = await factory.reopen(store);
      assert.equal((await other.getUser('ann'))?.createdAt, 3000, 'stored, not computed by the handle');
      await other.close();
      await store.close();
      const first = await factory.create({ now: () => 4000 });
      assert.equal(await first.createFirstUser({ name: 'admin', roles: ['ROLE_ADMIN'], passwordHash: 'h' }), true);
      assert.equal((await first.getUser('admin'))?.createdAt, 4000, 'the first-start admin too');
      await first.close();
    });

    it('replacePasswordHash swaps the hash only while it is the expected one, without moving the revision', async () => {
      const store = await factory.create();
      await store.upsertUser('alice', { roles: ['ROLE_USER'], passwordHash: 'old' });
      const revision = await store.revision();
      assert.equal(await store.replacePasswordHash('alice', 'other', 'new'), false);
      assert.equal(await store.replacePasswordHash('nobody', 'old', 'new'), false);
      assert.equal(await store.replacePasswordHash('alice', 'old', 'new'), true);
      const version = (await store.getUser('alice'))!.passwordVersion;
      assert.ok(version > 0);
      const { createdAt } = (await store.getUser('alice'))!;
      assert.deepEqual(await store.getUser('alice'), { name: 'alice', roles: ['ROLE_USER'], passwordHash: 'new', passwordVersion: version, createdAt }, 'a re-hash of the same password keeps the version');
      assert.equal(await store.replacePasswordHash('alice', 'old', 'newer'), false, 'already replaced');
      assert.equal(await store.revision(), revision);
      await store.close();
    });

    it('an admin write happens only while its actor is still an administrator with the same password version', async () => {
      const store = await factory.create();
      await store.upsertUser('mallory', { roles: ['ROLE_ADMIN'], passwordHash: 'm1' });
      await store.upsertUser('root', { roles: ['ROLE_ADMIN'], passwordHash: 'r1' });
      const mallory = { name: 'mallory', passwordVersion: (await store.getUser('mallory'))!.passwordVersion };
      await store.upsertUser('x', { roles: ['ROLE_USER'] }, { actor: mallory });
      await store.checkActor(mallory);
      await store.upsertUser('mallory', { passwordHash: 'm2' });
      const revision = await store.revision();
      await assert.rejects(store.upsertUser('backdoor', { roles: ['ROLE_ADMIN'] }, { actor: mallory }), { code: 'ERR_ACTOR_REVOKED' }, 'password changed');
      await assert.rejects(store.checkActor(mallory), { code: 'ERR_ACTOR_REVOKED' });
      await assert.rejects(store.setProxyUrl('http://evil.test', { actor: mallory }), { code: 'ERR_ACTOR_REVOKED' });
      await assert.rejects(store.deleteUser('root', { actor: mallory }), { code: 'ERR_ACTOR_REVOKED' });
      assert.equal(await store.revision(), revision, 'a refused write writes nothing');
      const current = { name: 'mallory', passwordVersion: (await store.getUser('mallory'))!.passwordVersion };
      await store.upsertUser('mallory', { roles: ['ROLE_USER'] });
      await assert.rejects(store.upsertUser('backdoor', { roles: ['ROLE_ADMIN'] }, { actor: current }), { code: 'ERR_FORBIDDEN' }, 'demoted');
      await store.deleteUser('mallory');
      await assert.rejects(store.upsertUser('backdoor', { roles: ['ROLE_ADMIN'] }, { actor: current }), { code: 'ERR_ACTOR_REVOKED' }, 'deleted');
      await store.upsertUser('mallory', { roles: ['ROLE_ADMIN'], passwordHash: 'm1' });
      await assert.rejects(store.upsertUser('backdoor', { roles: ['ROLE_ADMIN'] }, { actor: current }), { code: 'ERR_ACTOR_REVOKED' }, 'deleted and created again, even with the same hash');
      await assert.rejects(store.promoteNextKey({ expected: { active: null, next: 'none' }, newNext: { kid: 'k', bits: 2048, createdAt: 1, publicJwk: '{}', privateKey: 'p' }, previousNotAfter: 0, now: 0, actor: current }), { code: 'ERR_ACTOR_REVOKED' }, 'key transitions check the actor first');
      assert.equal(await store.getUser('backdoor'), undefined);
      assert.equal(await store.getProxyUrl(), null);
      await store.close();
    });

    it('keepAnAdmin refuses the write that would leave no administrator with a password, through any handle', async () => {
      const store = await factory.create();
      const other = await factory.reopen(store);
      await store.upsertUser('a1', { roles: ['ROLE_ADMIN'], passwordHash: 'h' });
      await store.upsertUser('a2', { roles: ['ROLE_ADMIN', 'ROLE_USER'], passwordHash: 'h' });
      await store.upsertUser('nopw', { roles: ['ROLE_ADMIN'] });
      const results = await Promise.allSettled([store.deleteUser('a1', { keepAnAdmin: true }), other.upsertUser('a2', { roles: ['ROLE_USER'] }, { keepAnAdmin: true })]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      assert.equal((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.code, 'ERR_LAST_ADMIN');
      const admins = (await store.listUsers()).filter((u) => u.roles.includes('ROLE_ADMIN') && u.passwordHash !== null);
      assert.equal(admins.length, 1, 'an administrator without a password does not count');
      await assert.rejects(store.upsertUser(admins[0]!.name, { passwordHash: null }, { keepAnAdmin: true }), { code: 'ERR_LAST_ADMIN' });
      await store.upsertUser(admins[0]!.name, { passwordHash: 'h2' }, { keepAnAdmin: true });
      await store.deleteUser(admins[0]!.name);
      assert.equal((await store.listUsers()).length, 1, 'without keepAnAdmin the operator may remove the last one');
      await other.close();
      await store.close();
    });

    it('changesSince names the users each later revision wrote or deleted, and null once it no longer knows', async () => {
      const store = await factory.create({ changesKept: 3 });
      const users = async (since: number) => (await store.changesSince(since))?.users.sort();
      const start = await store.revision();
      await store.upsertUser('ann', { roles: ['R'] });
      const afterAnn = await store.revision();
      await store.setProxyUrl('http://x.test');
      await store.upsertUser('ben', { roles: ['R'] });
      await store.deleteUser('ann');
      assert.deepEqual(await users(start), ['ann', 'ben']);
      // The proxy write in between names nobody.
      assert.deepEqual(await users(afterAnn), ['ann', 'ben']);
      assert.deepEqual(await store.changesSince(await store.revision()), { users: [], sessions: [] });
      const other = await factory.reopen(store);
      const seen = await other.revision();
      await store.upsertUser('cat', { roles: ['R'] });
      assert.deepEqual((await other.changesSince(seen))?.users, ['cat'], 'another handle sees them too');
      for (let i = 0; i < 5; i++) await store.upsertUser(`u${i}`, { roles: ['R'] });
      assert.equal(await store.changesSince(start), null, 'older than what is kept: unknown');
      assert.deepEqual((await store.changesSince((await store.revision()) - 1))?.users, ['u4']);
      await other.close();
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

    sessionConformance(factory);
    keyConformance(factory);

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
