import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION } from '../../server/store/sqlite-migrations.js';
import { openStore, STORE_FILE, type Store } from '../../server/store/index.js';
import { tempDir } from '../helpers/process.js';
import { writeV1Store } from '../helpers/v1-store.js';
import { storeConformance } from '../helpers/store-conformance.js';

const dirs = new WeakMap<Store, string>();

storeConformance('sqlite', {
  async create(options = {}) {
    const dir = tempDir();
    const store = openStore({ dataDir: dir, ...options });
    dirs.set(store, dir);
    return store;
  },
  async reopen(store) {
    const dir = dirs.get(store)!;
    const again = openStore({ dataDir: dir, create: false });
    dirs.set(again, dir);
    return again;
  },
});

it('sqlite: the store folder and files are owner-only', async () => {
  const dir = path.join(tempDir(), 'data');
  const store = openStore({ dataDir: dir });
  await store.setProxyUrl('http://x.test');
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  assert.equal(fs.statSync(path.join(dir, STORE_FILE)).mode & 0o777, 0o600);
  await store.close();
});

it('sqlite: opening a missing store without create fails with ERR_STORE_NOT_FOUND', () => {
  assert.throws(() => openStore({ dataDir: path.join(tempDir(), 'nope'), create: false }), { code: 'ERR_STORE_NOT_FOUND' });
});

it('sqlite: a schema-1 store is migrated at open, losslessly: pending becomes next (published since created, its schedule kept)', async () => {
  const dir = tempDir();
  writeV1Store(dir, [
    { kid: 'gone', state: 'retired', createdAt: 100, activatesAt: 100, notAfter: 500, privateKey: null },
    { kid: 'old', state: 'retiring', createdAt: 200, activatesAt: 200, notAfter: 9000, privateKey: 'pem-old' },
    { kid: 'cur', state: 'active', createdAt: 300, activatesAt: 1000, notAfter: 9000, privateKey: 'pem-cur' },
    { kid: 'pend', state: 'pending', createdAt: 400, activatesAt: 5000, notAfter: null, privateKey: 'pem-pend' },
  ]);
  const store = openStore({ dataDir: dir, create: false });
  assert.deepEqual((await store.listKeys()).map((k) => [k.kid, k.state, k.createdAt, k.publishedAt, k.activatesAt, k.notAfter, k.privateKey, k.publicJwk]), [
    ['gone', 'retired', 100, 100, 100, 500, null, '{"kid":"gone"}'],
    ['old', 'retiring', 200, 200, 200, 9000, 'pem-old', '{"kid":"old"}'],
    ['cur', 'active', 300, 300, 1000, 9000, 'pem-cur', '{"kid":"cur"}'],
    ['pend', 'next', 400, 400, 5000, null, 'pem-pend', '{"kid":"pend"}'],
  ]);
  assert.equal(await store.getProxyUrl(), 'http://kept.test');
  assert.equal((await store.getUser('admin'))?.passwordHash, 'scrypt$h');
  assert.equal((await store.getUser('admin'))?.createdAt, 0, 'a user from before creation times: unknown (0), not the time of the upgrade');
  assert.equal(await store.revision(), 7);
  await store.close();
  const db = new Database(path.join(dir, STORE_FILE), { readonly: true });
  assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  db.close();
  // Opened again: nothing left to migrate, nothing changes.
  const again = openStore({ dataDir: dir, create: false });
  assert.equal((await again.listKeys()).find((k) => k.kid === 'pend')?.state, 'next');
  await again.close();
});

it('sqlite: migrating several pending keys keeps the newest as next and retires the others (a rotation would have)', async () => {
  const dir = tempDir();
  writeV1Store(dir, [
    { kid: 'cur', state: 'active', createdAt: 1, activatesAt: 1, notAfter: null, privateKey: 'pem-cur' },
    { kid: 'p1', state: 'pending', createdAt: 2, activatesAt: 50, notAfter: null, privateKey: 'pem-p1' },
    { kid: 'p2', state: 'pending', createdAt: 3, activatesAt: 60, notAfter: null, privateKey: 'pem-p2' },
  ]);
  // The old unique index only covered active: several pending rows were possible in the file.
  const store = openStore({ dataDir: dir, create: false });
  assert.deepEqual((await store.listKeys()).map((k) => [k.kid, k.state, k.privateKey]), [['cur', 'active', 'pem-cur'], ['p1', 'retired', null], ['p2', 'next', 'pem-p2']]);
  await store.close();
});

it('sqlite: the session cap holds for connections creating sessions at the same moment (threads, each its own connection)', async () => {
  const dir = tempDir();
  await openStore({ dataDir: dir }).close();
  const [workers, rounds] = [3, 60];
  const arrived = new Int32Array(new SharedArrayBuffer(4));
  const ended = await Promise.all(Array.from({ length: workers }, (_, worker) => new Promise<number>((resolve, reject) => {
    const thread = new Worker(new URL('../helpers/session-cap-worker.js', import.meta.url), { workerData: { dataDir: dir, worker, workers, rounds, arrived } });
    thread.once('message', resolve);
    thread.once('error', reject);
  })));
  const store = openStore({ dataDir: dir, create: false });
  const live = (await store.listSessions(Date.now())).sessions;
  const perUser = new Map<string, number>();
  for (const s of live) perUser.set(s.user, (perUser.get(s.user) ?? 0) + 1);
  assert.deepEqual([...perUser.entries()].filter(([, n]) => n !== 1), [], 'with a cap of one, one live session per user');
  assert.equal(perUser.size, rounds);
  assert.equal(ended.reduce((a, b) => a + b, 0), rounds * (workers - 1), 'every other session was ended by exactly one login');
  await store.close();
});

it('sqlite: a store from a newer jwtgate is refused', () => {
  const dir = tempDir();
  const db = new Database(path.join(dir, STORE_FILE));
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  assert.throws(() => openStore({ dataDir: dir, create: false }), { code: 'ERR_STORE', message: /newer than this jwtgate/ });
});

it('sqlite: the migrations are ordered steps 1..N, each run once', () => {
  assert.deepEqual(MIGRATIONS.map((m) => m.version), MIGRATIONS.map((_, i) => i + 1));
  assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
});
