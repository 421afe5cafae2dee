/**
 * The part of the store conformance suite (store-conformance.ts, which runs it) about browser
 * sessions: storing, listing and ending them, what user writes do to them, session secrets, the
 * per-user cap of createSession and the limit of listSessions.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { SessionRecord } from '../../server/store/index.js';
import type { StoreFactory } from './store-conformance.js';

/** Session `n` of `user`: created at now + n, idle-expiring at now + 10 s, ending at now + 20 s. */
export const sessionRecord = (n: number, user: string, now = 1000): SessionRecord => ({
  idHash: `hash-${n}`, handle: `handle-${n}`, user, createdAt: now + n, lastSeenAt: now + n, idleExpiresAt: now + 10_000, expiresAt: now + 20_000, clientAddress: '203.0.113.1', userAgent: 'test/1',
});

export function sessionConformance(factory: StoreFactory): void {
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

  it('createSession with maxPerUser ends the user\'s oldest live sessions in the same write, logged in changesSince; expired ones do not count', async () => {
    const store = await factory.create();
    const cap = { maxPerUser: 3 };
    await store.createSession({ ...sessionRecord(0, 'ann'), idleExpiresAt: 1000 });
    await store.createSession(sessionRecord(10, 'ben'), cap);
    const quiet = await store.revision();
    for (const n of [1, 2, 3]) assert.deepEqual(await store.createSession(sessionRecord(n, 'ann'), cap), [], `session ${n}: room left (the expired one does not count)`);
    assert.equal(await store.revision(), quiet, 'a session that ends none changes nothing a server caches');

    const before = await store.revision();
    const evicted = await store.createSession(sessionRecord(4, 'ann'), cap);
    assert.deepEqual(evicted, [sessionRecord(1, 'ann')], 'the oldest live one, not the expired one');
    assert.ok((await store.revision()) > before, 'other servers must drop it from their caches');
    assert.deepEqual(await store.changesSince(before), { users: [], sessions: ['hash-1'] });
    assert.equal(await store.getSession('hash-1'), undefined);
    assert.ok(await store.getSession('hash-4'), 'the new one is stored');
    assert.deepEqual((await store.listSessions(1004, { user: 'ann' })).sessions.map((s) => s.handle), ['handle-4', 'handle-3', 'handle-2']);

    assert.deepEqual((await store.createSession(sessionRecord(5, 'ann'), { maxPerUser: 1 })).map((s) => s.handle), ['handle-2', 'handle-3', 'handle-4'], 'as many as needed, oldest first');
    assert.deepEqual((await store.listSessions(1005, { user: 'ann' })).sessions.map((s) => s.handle), ['handle-5']);
    assert.deepEqual((await store.listSessions(1005, { user: 'ben' })).sessions.map((s) => s.handle), ['handle-10'], 'other users keep theirs');
    assert.deepEqual(await store.createSession(sessionRecord(6, 'ann')), [], 'without maxPerUser: no cap');
    await store.close();
  });

  it('the cap holds for sessions created through several handles at once: every login ends others, none twice', async () => {
    const store = await factory.create();
    const other = await factory.reopen(store);
    const created = Array.from({ length: 12 }, (_, n) => sessionRecord(n + 1, 'ann'));
    const results = await Promise.all(created.map((s, i) => (i % 2 === 0 ? store : other).createSession(s, { maxPerUser: 4 })));
    const ended = results.flat().map((s) => s.handle);
    assert.equal(new Set(ended).size, ended.length, 'no session is ended twice');
    const live = await other.listSessions(1100, { user: 'ann' });
    assert.equal(live.total, 4);
    assert.deepEqual([...ended, ...live.sessions.map((s) => s.handle)].sort(), created.map((s) => s.handle).sort(), 'each session is either live or was reported ended');
    await other.close();
    await store.close();
  });

  it('listSessions gives the newest `limit` and how many live sessions match in all', async () => {
    const store = await factory.create();
    for (const n of [1, 2, 3, 4, 5]) await store.createSession(sessionRecord(n, 'ann'));
    for (const n of [6, 7]) await store.createSession(sessionRecord(n, 'ben'));
    await store.createSession({ ...sessionRecord(8, 'ann'), expiresAt: 1500 });
    const page = await store.listSessions(2000, { limit: 2 });
    assert.deepEqual([page.sessions.map((s) => s.handle), page.total], [['handle-7', 'handle-6'], 7], 'the expired one neither listed nor counted');
    const ann = await store.listSessions(2000, { user: 'ann', limit: 3 });
    assert.deepEqual([ann.sessions.map((s) => s.handle), ann.total], [['handle-5', 'handle-4', 'handle-3'], 5]);
    const all = await store.listSessions(2000, { user: 'ben', limit: 10 });
    assert.deepEqual([all.sessions.length, all.total], [2, 2]);
    assert.deepEqual(await store.listSessions(2000, { user: 'nobody', limit: 10 }), { sessions: [], total: 0 });
    assert.equal((await store.listSessions(2000)).sessions.length, 7, 'no limit: all');
    await store.close();
  });
}
