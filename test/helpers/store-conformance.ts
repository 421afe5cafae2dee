/**
 * The one conformance suite every Store backend must pass (SQLite today, Redis next): call
 * `storeConformance('name', factory)` from a test file per backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../server/store/index.js';
import { sessionConformance, sessionRecord } from './store-conformance-sessions.js';

export interface StoreFactory {
  /** A fresh, empty store; `changesKept` and `now` as in StoreOptions. */
  create(options?: { changesKept?: number; now?: () => number }): Promise<Store>;
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

    const session = sessionRecord;

    it('stores sessions by id hash; touches move activity forward only, without moving the revision', async () => {
      const store = await factory.create();
      const revision = await store.revision();
      await store.createSession(session(1, 'ann'));
      assert.deepEqual(await store.getSession('hash-1'), session(1, 'ann'));
      await store.touchSession('hash-1', 5000, 15_000);
      await store.touchSession('hash-1', 4000, 14_000);
      const touched = await store.getSession('hash-1');
      assert.equal(touched?.lastSeenAt, 5000);
      assert.equal(touched?.idleExpiresAt, 15_000);
      assert.equal(await store.revision(), revision, 'creating and touching sessions changes nothing a server caches');
      assert.equal(await store.getSession('nope'), undefined);
      await store.close();
    });

    it('lists live sessions (of a user), ends them by handle, id hash or user, and reports the ends in changesSince', async () => {
      const store = await factory.create();
      await store.createSession(session(1, 'ann'));
      await store.createSession(session(2, 'ann'));
      await store.createSession(session(3, 'ben'));
      await store.createSession({ ...session(4, 'ben'), idleExpiresAt: 1500 });
      assert.deepEqual((await store.listSessions(2000)).sessions.map((s) => s.handle), ['handle-3', 'handle-2', 'handle-1'], 'newest first, no expired one');
      assert.deepEqual((await store.listSessions(2000, { user: 'ann' })).sessions.map((s) => s.handle), ['handle-2', 'handle-1']);
      const before = await store.revision();
      assert.deepEqual((await store.deleteSessions({ handle: 'handle-1' })).map((s) => s.idHash), ['hash-1']);
      assert.deepEqual((await store.deleteSessions({ idHash: 'hash-3' })).map((s) => s.handle), ['handle-3']);
      assert.deepEqual(await store.deleteSessions({ handle: 'handle-1' }), [], 'already gone');
      assert.ok((await store.revision()) > before);
      assert.deepEqual((await store.changesSince(before))?.sessions.sort(), ['hash-1', 'hash-3']);
      assert.deepEqual((await store.deleteSessions({ user: 'ann' })).map((s) => s.handle), ['handle-2']);
      assert.equal(await store.pruneSessions(2000), 1, 'the idle-expired one');
      assert.deepEqual(await store.listSessions(0), { sessions: [], total: 0 });
      await store.close();
    });

    it('a new password or a deletion ends the user\'s sessions in the same write; a roles change does not', async () => {
      const store = await factory.create();
      await store.upsertUser('ann', { roles: ['R'], passwordHash: 'h1' });
      await store.upsertUser('ben', { roles: ['R'], passwordHash: 'h1' });
      await store.createSession(session(1, 'ann'));
      await store.createSession(session(2, 'ben'));
      await store.upsertUser('ann', { roles: ['R', 'S'] });
      assert.ok(await store.getSession('hash-1'), 'roles only: the session stays (it carries the new roles)');
      const before = await store.revision();
      await store.upsertUser('ann', { passwordHash: 'h2' });
      assert.equal(await store.getSession('hash-1'), undefined);
      assert.deepEqual(await store.changesSince(before), { users: ['ann'], sessions: ['hash-1'] });
      await store.deleteUser('ben');
      assert.equal(await store.getSession('hash-2'), undefined);
      await store.close();
    });

    sessionConformance(factory);

    it('session secrets: the newest first; adding one retires the others at the given time; onlyIfNone for the first start', async () => {
      const store = await factory.create();
      const secret = (id: string, createdAt: number) => ({ id, secret: `s-${id}`, createdAt, retiresAt: null });
      assert.equal(await store.addSessionSecret(secret('a', 100), 100, { onlyIfNone: true }), true);
      assert.equal(await store.addSessionSecret(secret('x', 100), 100, { onlyIfNone: true }), false);
      const before = await store.revision();
      await store.addSessionSecret(secret('b', 200), 5000);
      assert.ok((await store.revision()) > before, 'other servers must learn the new secret');
      assert.deepEqual((await store.listSessionSecrets(300)).map((s) => [s.id, s.retiresAt]), [['b', null], ['a', 5000]]);
      await store.addSessionSecret(secret('c', 300), 9000);
      assert.deepEqual((await store.listSessionSecrets(400)).map((s) => [s.id, s.retiresAt]), [['c', null], ['b', 9000], ['a', 5000]], 'a keeps its earlier retirement');
      assert.deepEqual((await store.listSessionSecrets(9000)).map((s) => s.id), ['c'], 'retired ones no longer verify');
      await store.addSessionSecret(secret('d', 9500), 20_000);
      assert.deepEqual((await store.listSessionSecrets(9500)).map((s) => s.id), ['d', 'c']);
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
      assert.equal(keys.find((k) => k.kid === 'a1')!.privateKey, null, 'a key that stops signing loses its private key at once (only its public key stays published)');

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

    it('an emergency also takes out the keys still published after an earlier rotation', async () => {
      const store = await factory.create();
      await store.replaceSigningKeys({ expected: { active: null, next: null }, active: key('a1', 1), next: key('n1', 1), now: 100 });
      await store.promoteNextKey({ expected: { active: 'a1', next: 'n1' }, newNext: key('n2', 2), previousNotAfter: 99_000, now: 200 });
      assert.equal(await store.replaceSigningKeys({ expected: { active: 'n1', next: 'n2' }, active: key('e1', 3), next: key('e2', 3), now: 300, retireRetiring: true }), true);
      assert.deepEqual((await store.listKeys()).map((k) => [k.kid, k.state, k.privateKey]), [['a1', 'retired', null], ['n1', 'retired', null], ['n2', 'retired', null], ['e1', 'active', 'pem-e1'], ['e2', 'next', 'pem-e2']]);
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
