import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openStore } from '../../server/store/index.js';
import { removeUser, saveUser } from '../../server/users/index.js';
import { tempDir } from '../helpers/process.js';

it('concurrent removals of the last two administrators leave one (ERR_LAST_ADMIN for the other)', async () => {
  const store = openStore({ dataDir: tempDir() });
  const config = { minPasswordLength: 12 };
  await saveUser(store, 'a1', { roles: ['ROLE_ADMIN'], password: 'first-admin-pw' }, config);
  await saveUser(store, 'a2', { roles: ['ROLE_ADMIN'], password: 'second-admin-pw' }, config);
  const results = await Promise.allSettled([removeUser(store, 'a1'), removeUser(store, 'a2')]);
  assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  assert.equal((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.code, 'ERR_LAST_ADMIN');
  assert.equal((await store.listUsers()).length, 1);
  // Same for a demotion racing a removal.
  await saveUser(store, 'a3', { roles: ['ROLE_ADMIN'], password: 'third-admin-pw1' }, config);
  const remaining = (await store.listUsers()).map((u) => u.name);
  const mixed = await Promise.allSettled([saveUser(store, remaining[0]!, { roles: ['ROLE_USER'] }, config), removeUser(store, remaining[1]!)]);
  assert.equal(mixed.filter((r) => r.status === 'rejected').length, 1);
  assert.equal((await store.listUsers()).filter((u) => u.roles.includes('ROLE_ADMIN')).length, 1);
  await store.close();
});
