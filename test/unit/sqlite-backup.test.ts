/** backupSqliteStore: a snapshot of committed state only, written 0600, never over a file without force. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openStore, STORE_FILE, type Store } from '../../server/store/index.js';
import { backupSqliteStore } from '../../server/store/sqlite-backup.js';
import { isSealed } from '../../server/tokens/index.js';
import { tempDir } from '../helpers/process.js';

async function storeWithData(): Promise<{ dataDir: string; store: Store }> {
  const dataDir = tempDir();
  const store = openStore({ dataDir });
  await store.upsertUser('alice', { roles: ['ROLE_USER'], passwordHash: 'h' });
  await store.setProxyUrl('http://up.test');
  return { dataDir, store };
}

const usersIn = (file: string): string[] => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT name FROM users ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
};

describe('backupSqliteStore', () => {
  it('copies committed state only, even while another connection holds an open write transaction', async () => {
    const { dataDir, store } = await storeWithData();
    const writer = new Database(path.join(dataDir, STORE_FILE));
    writer.exec(`BEGIN IMMEDIATE; INSERT INTO users (name, roles, password_hash) VALUES ('uncommitted', '[]', NULL)`);
    const destination = path.join(tempDir(), 'backup.sqlite');
    const summary = await backupSqliteStore({ dataDir, destination, force: false, isSealed });
    writer.exec('COMMIT');
    writer.close();
    await store.close();
    assert.deepEqual(usersIn(destination), ['alice']);
    assert.deepEqual({ users: summary.users, proxyUrl: summary.proxyUrl, privateKeys: summary.privateKeys }, { users: 1, proxyUrl: 'http://up.test', privateKeys: 0 });
    assert.equal(summary.bytes, fs.statSync(destination).size);
  });

  it('writes the copy with mode 0600 whatever the umask, and leaves nothing else beside it', async () => {
    const { dataDir, store } = await storeWithData();
    const folder = tempDir();
    const umask = process.umask(0);
    try {
      await backupSqliteStore({ dataDir, destination: path.join(folder, 'b.sqlite'), force: false, isSealed });
    } finally {
      process.umask(umask);
      await store.close();
    }
    assert.equal(fs.statSync(path.join(folder, 'b.sqlite')).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(folder), ['b.sqlite']);
  });

  it('refuses an existing file, or a stale -wal/-shm/-journal beside it, unless forced (ERR_INVALID_INPUT)', async () => {
    const { dataDir, store } = await storeWithData();
    const folder = tempDir();
    const destination = path.join(folder, 'b.sqlite');
    await backupSqliteStore({ dataDir, destination, force: false, isSealed });
    const before = fs.readFileSync(destination);
    await store.upsertUser('bob', { roles: [] });
    await assert.rejects(backupSqliteStore({ dataDir, destination, force: false, isSealed }), { code: 'ERR_INVALID_INPUT' });
    assert.deepEqual(fs.readFileSync(destination), before);
    for (const suffix of ['-wal', '-shm', '-journal']) {
      const other = path.join(folder, `other${suffix}.sqlite`);
      fs.writeFileSync(other + suffix, 'stale');
      await assert.rejects(backupSqliteStore({ dataDir, destination: other, force: false, isSealed }), { code: 'ERR_INVALID_INPUT' });
      assert.ok(!fs.existsSync(other));
    }
    fs.writeFileSync(`${destination}-wal`, 'stale');
    await backupSqliteStore({ dataDir, destination, force: true, isSealed });
    assert.ok(!fs.existsSync(`${destination}-wal`), 'the stale -wal would be replayed onto the new copy');
    assert.deepEqual(usersIn(destination), ['alice', 'bob']);
    await store.close();
  });

  it('refuses the store itself, a missing folder (ERR_INVALID_INPUT) and a missing store (ERR_STORE_NOT_FOUND)', async () => {
    const { dataDir, store } = await storeWithData();
    const link = path.join(tempDir(), 'link.sqlite');
    fs.symlinkSync(path.join(dataDir, STORE_FILE), link);
    for (const destination of [path.join(dataDir, STORE_FILE), path.join(dataDir, `${STORE_FILE}-wal`), link]) {
      await assert.rejects(backupSqliteStore({ dataDir, destination, force: true, isSealed }), { code: 'ERR_INVALID_INPUT' }, destination);
    }
    assert.deepEqual(usersIn(path.join(dataDir, STORE_FILE)), ['alice']);
    await assert.rejects(backupSqliteStore({ dataDir, destination: path.join(tempDir(), 'no/such/folder.sqlite'), force: false, isSealed }), { code: 'ERR_INVALID_INPUT' });
    await assert.rejects(backupSqliteStore({ dataDir: tempDir(), destination: path.join(tempDir(), 'x.sqlite'), force: false, isSealed }), { code: 'ERR_STORE_NOT_FOUND' });
    await store.close();
  });
});
