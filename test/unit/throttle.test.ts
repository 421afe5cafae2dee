import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginThrottle, SUCCESS_FACTOR, SUSPECT_AFTER, type Admission } from '../../server/identity/index.js';

async function fail(throttle: LoginThrottle, name: string, address: string): Promise<void> {
  assert.equal((await throttle.acquire(name, address)).admitted, true);
  throttle.release(name, address, 'failed');
}

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
    for (let i = 0; i < 3; i++) throttle.release('carl', REMOTE, 'failed');
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
      for (let i = admitted; i < now; i++) throttle.release(`user${i}`, REMOTE, 'succeeded');
      admitted = now;
    }
    assert.equal(admitted, 50);
  });

  it('counts failures per name across addresses, except for a loopback client', async () => {
    const throttle = new LoginThrottle({ limit: 2 });
    for (const ip of ['198.51.100.1', '198.51.100.2']) {
      assert.equal((await throttle.acquire('bob', ip)).admitted, true);
      throttle.release('bob', ip, 'failed');
    }
    assert.equal((await throttle.acquire('bob', '198.51.100.3')).admitted, false, 'the name is spent');
    assert.equal((await throttle.acquire('bob', '127.0.0.1')).admitted, true, 'the local operator is not locked out');
  });

  it('clear() forgets failures and wakes the waiters', async () => {
    const throttle = new LoginThrottle({ limit: 1 });
    assert.equal((await throttle.acquire('dora', REMOTE)).admitted, true);
    const waiting = throttle.acquire('dora', REMOTE);
    throttle.release('dora', REMOTE, 'failed');
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
    throttle.release('hal', '198.51.100.8', 'succeeded');
    assert.equal((await settled([blocked]))[0], 'waiting', 'still waits for gus');
    throttle.release('gus', '198.51.100.9', 'succeeded');
    assert.equal((await blocked).admitted, true);
  });

  it('an IPv6 /64 is one client (one budget); an IPv4-mapped address is its IPv4 address', async () => {
    const throttle = new LoginThrottle({ limit: 2 });
    await fail(throttle, 'a', '2001:db8:1:2::1');
    await fail(throttle, 'b', '2001:db8:1:2:ffff:ffff:ffff:fffe');
    assert.deepEqual(await throttle.acquire('c', '2001:0db8:0001:0002:0000:0000:0000:0099'), { admitted: false, retryAfterSeconds: 60 }, 'same /64, another spelling');
    assert.equal((await throttle.acquire('c', '2001:db8:1:3::1')).admitted, true, 'the next /64 has its own budget');
    const wide = new LoginThrottle({ limit: 1, ipv6PrefixBits: 48 });
    await fail(wide, 'a', '2001:db8:1:2::1');
    assert.equal((await wide.acquire('b', '2001:db8:1:ffff::1')).admitted, false, '--ipv6-prefix 48 counts the /48');
    const v4 = new LoginThrottle({ limit: 1 });
    await fail(v4, 'a', '::ffff:198.51.100.20');
    assert.equal((await v4.acquire('b', '198.51.100.20')).admitted, false);
    assert.equal(v4.isSuspect('198.51.100.20'), true, 'with a limit of 1, one failure is the limit');
    assert.equal(v4.isSuspect('198.51.100.21'), false);
  });

  it('a client becomes suspect (its checks queue last) after SUSPECT_AFTER failures, not after one typo', async () => {
    const throttle = new LoginThrottle({ limit: 10 });
    await fail(throttle, 'me', '203.0.113.70');
    assert.equal(throttle.isSuspect('203.0.113.70'), false, 'one typo');
    for (let i = 1; i < SUSPECT_AFTER; i++) await fail(throttle, `guess${i}`, '203.0.113.70');
    assert.equal(throttle.isSuspect('203.0.113.70'), true);
  });

  it('successful full checks are rate-limited per name too (SUCCESS_FACTOR × limit a window)', async () => {
    const throttle = new LoginThrottle({ limit: 2 });
    for (let i = 0; i < SUCCESS_FACTOR * 2; i++) {
      assert.equal((await throttle.acquire('eve', REMOTE)).admitted, true, `check ${i}`);
      throttle.release('eve', REMOTE, 'succeeded');
    }
    assert.equal((await throttle.acquire('eve', REMOTE)).admitted, false);
    assert.equal((await throttle.acquire('other', REMOTE)).admitted, true, 'successes do not spend the address budget');
    throttle.forget(['eve']);
    assert.equal((await throttle.acquire('eve', REMOTE)).admitted, true, 'a password reset (forget) lifts it');
  });

  it('forget(names) lifts the address windows whose failures were all against those names, not the others', async () => {
    const throttle = new LoginThrottle({ limit: 3 });
    await fail(throttle, 'admin', '203.0.113.60');
    await fail(throttle, 'admin', '203.0.113.60');
    await fail(throttle, 'admin', '203.0.113.60');
    await fail(throttle, 'other', '203.0.113.61');
    await fail(throttle, 'other', '203.0.113.61');
    await fail(throttle, 'x', '203.0.113.61');
    assert.equal((await throttle.acquire('y', '203.0.113.60')).admitted, false);
    throttle.forget(['admin']);
    assert.equal((await throttle.acquire('admin', '203.0.113.60')).admitted, true, 'only forgot admin\'s password');
    assert.equal((await throttle.acquire('z', '203.0.113.61')).admitted, false, 'guessed other names');
  });
});
