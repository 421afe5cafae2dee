/** SessionManager on the SQLite store: what a cookie value proves, and for how long (injected clock). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { SessionManager } from '../../server/sessions/index.js';
import { openStore, type Store } from '../../server/store/index.js';

describe('SessionManager: cookie values', () => {
  const stores: Store[] = [];
  after(async () => {
    for (const store of stores) await store.close();
  });
  async function manager(now: () => number): Promise<SessionManager> {
    const store = openStore({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'jg-sm-')) });
    stores.push(store);
    const sessions = new SessionManager({ store, idleTimeoutMs: 3_600_000, maxAgeMs: 7_200_000, now });
    await sessions.ensureSecret();
    return sessions;
  }

  it('a signed value names its session, checked once and then remembered; a tampered one never does', async () => {
    const sessions = await manager(Date.now);
    const { cookieValue, session } = await sessions.create('ann', { address: '127.0.0.1', userAgent: 'test' });
    assert.equal(sessions.idHashOf(cookieValue), session.record.idHash);
    assert.equal(sessions.idHashOf(cookieValue), session.record.idHash, 'again, from what was remembered');
    const tampered = `${cookieValue.slice(0, -2)}${cookieValue.endsWith('AA') ? 'BB' : 'AA'}`;
    assert.equal(sessions.idHashOf(tampered), null);
    assert.equal(sessions.known(tampered), undefined);
  });

  it('once the secret that signed a value has retired and the secrets are read again, the remembered value proves nothing', async () => {
    let now = Date.now();
    const sessions = await manager(() => now);
    const { cookieValue } = await sessions.create('ann', { address: '127.0.0.1', userAgent: 'test' });
    assert.notEqual(sessions.idHashOf(cookieValue), null);
    await sessions.rotateSecret();
    assert.notEqual(sessions.idHashOf(cookieValue), null, 'the older secret still verifies for the session max age');
    now += 7_200_000 + 1000;
    await sessions.loadSecrets();
    assert.equal(sessions.idHashOf(cookieValue), null);
    assert.equal(await sessions.lookup(cookieValue), null);
  });
});
