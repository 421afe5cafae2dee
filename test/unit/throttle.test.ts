import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginThrottle, type Admission } from '../../server/identity/index.js';

const REMOTE = '203.0.113.7';

/** Resolves to the admissions granted so far, without waiting for the ones still queued. */
async function settled(promises: Promise<Admission>[]): Promise<(Admission | 'waiting')[]> {
  const marks = promises.map((p) => p.then((a) => a, () => 'waiting' as const));
  await new Promise((resolve) => setImmediate(resolve));
  return Promise.all(marks.map((m) => Promise.race([m, Promise.resolve('waiting' as const)])));
}

describe('LoginThrottle', () => {
  it('admits at most the remaining budget at once; waiters over a spent budget get Retry-After', async () => {
    const now = { t: 0 };
    const throttle = new LoginThrottle({ limit: 3, now: () => now.t });
    const attempts = Array.from({ length: 20 }, () => throttle.acquire('carl', REMOTE));
    const first = await settled(attempts);
    assert.equal(first.filter((a) => a !== 'waiting' && a.admitted).length, 3);
    assert.equal(first.filter((a) => a === 'waiting').length, 17);
    for (let i = 0; i < 3; i++) throttle.release('carl', REMOTE, true);
    const rest = await Promise.all(attempts.slice(3));
    assert.ok(rest.every((a) => !a.admitted && a.retryAfterSeconds === 60), JSON.stringify(rest));
    now.t = 60_000;
    assert.equal((await throttle.acquire('carl', REMOTE)).admitted, true, 'a new window');
  });

  it('queues rather than refuses: many users behind one address all get checked when they succeed', async () => {
    const throttle = new LoginThrottle({ limit: 2 });
    const attempts = Array.from({ length: 50 }, (_, i) => throttle.acquire(`user${i}`, REMOTE));
    let admitted = 0;
    for (let round = 0; round < 50 && admitted < 50; round++) {
      const now = (await settled(attempts)).filter((a) => a !== 'waiting' && a.admitted).length;
      assert.ok(now - admitted <= 2, 'never more than the budget at once');
      for (let i = admitted; i < now; i++) throttle.release(`user${i}`, REMOTE, false);
      admitted = now;
    }
    assert.equal(admitted, 50);
  });

  it('counts failures per name across addresses, except for a loopback client', async () => {
    const throttle = new LoginThrottle({ limit: 2 });
    for (const ip of ['198.51.100.1', '198.51.100.2']) {
      assert.equal((await throttle.acquire('bob', ip)).admitted, true);
      throttle.release('bob', ip, true);
    }
    assert.equal((await throttle.acquire('bob', '198.51.100.3')).admitted, false, 'the name is spent');
    assert.equal((await throttle.acquire('bob', '127.0.0.1')).admitted, true, 'the local operator is not locked out');
  });

  it('clear() forgets failures and wakes the waiters', async () => {
    const throttle = new LoginThrottle({ limit: 1 });
    assert.equal((await throttle.acquire('dora', REMOTE)).admitted, true);
    const waiting = throttle.acquire('dora', REMOTE);
    throttle.release('dora', REMOTE, true);
    assert.equal((await waiting).admitted, false);
    throttle.clear();
    assert.equal((await throttle.acquire('dora', REMOTE)).admitted, true);
  });

  it('refuses at once when too many attempts are already waiting', async () => {
    const throttle = new LoginThrottle({ limit: 1, maxWaiting: 2 });
    await throttle.acquire('eve', REMOTE);
    void throttle.acquire('eve', REMOTE);
    void throttle.acquire('eve', REMOTE);
    const refused = await throttle.acquire('eve', REMOTE);
    assert.deepEqual(refused, { admitted: false, retryAfterSeconds: 1 });
  });

  it('refuses a waiting attempt after maxWaitMs (a check that never ends does not hold it for ever)', async () => {
    const throttle = new LoginThrottle({ limit: 1, maxWaitMs: 30 });
    assert.equal((await throttle.acquire('fay', REMOTE)).admitted, true, 'never released');
    const started = Date.now();
    const alive = setInterval(() => undefined, 5); // the throttle's timer is unref'd: keep this test's loop alive
    try {
      assert.deepEqual(await throttle.acquire('fay', REMOTE), { admitted: false, retryAfterSeconds: 1 });
    } finally {
      clearInterval(alive);
    }
    assert.ok(Date.now() - started >= 25);
  });

  it('a release wakes only the attempts waiting on its name or address', async () => {
    const throttle = new LoginThrottle({ limit: 1 });
    await throttle.acquire('gus', '198.51.100.9');
    const other = throttle.acquire('hal', '198.51.100.8');
    const blocked = throttle.acquire('gus', '198.51.100.7');
    assert.equal((await other).admitted, true, 'another name and address: not blocked');
    throttle.release('hal', '198.51.100.8', false);
    assert.equal((await settled([blocked]))[0], 'waiting', 'still waits for gus');
    throttle.release('gus', '198.51.100.9', false);
    assert.equal((await blocked).admitted, true);
  });
});
