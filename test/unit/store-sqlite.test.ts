import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { openStore, STORE_FILE, type Store } from '../../server/store/index.js';
import { tempDir } from '../helpers/process.js';
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
