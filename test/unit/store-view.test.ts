import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadConfig } from '../../server/config.js';
import { StoreView } from '../../server/gateway/store-view.js';
import { openStore } from '../../server/store/index.js';
import { hashPassword } from '../../server/identity/index.js';
import { tempDir } from '../helpers/process.js';

const config = loadConfig({}, {});
const audit = { record() {} };
const silent = { info() {}, warn() {}, error() {} };
const header = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

it('refresh() called while a reload runs resolves only after a reload that saw the caller\'s write', async () => {
  const store = openStore({ dataDir: tempDir() });
  const view = new StoreView({ store, config, log: silent, audit });
  await view.refresh();
  // A reload starts (e.g. the poll timer) and reads the revision; then a write lands and its writer refreshes.
  const polling = view.refresh();
  await store.setProxyUrl('http://after.test');
  await view.refresh();
  assert.equal(view.target?.href, 'http://after.test', 'the write is seen when refresh() resolves');
  await polling;
  await store.close();
});

it('a user change drops only that user\'s cached checks', async () => {
  const store = openStore({ dataDir: tempDir() });
  await store.upsertUser('ann', { roles: ['R'], passwordHash: await hashPassword('ann-password') });
  await store.upsertUser('bob', { roles: ['R'], passwordHash: await hashPassword('bob-password') });
  const view = new StoreView({ store, config, log: silent, audit });
  await view.refresh();
  await view.passwords.verify(header('ann:ann-password'));
  await view.passwords.verify(header('bob:bob-password'));
  await store.upsertUser('ann', { roles: ['R', 'S'] });
  await store.setProxyUrl('http://x.test');
  await view.refresh();
  assert.equal(view.passwords.cached(header('ann:ann-password')), undefined, 'ann changed');
  assert.equal(view.passwords.cached(header('bob:bob-password'))?.name, 'bob', 'bob did not');
  assert.deepEqual((await view.passwords.verify(header('ann:ann-password')))?.roles, ['R', 'S']);
  await store.close();
});
