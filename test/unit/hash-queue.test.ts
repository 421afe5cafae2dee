import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientGroupOf, clientKeyOf, HashQueue, type LanePriority } from '../../server/identity/index.js';

/** A task that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, task: () => opened };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
/** A place in the queue: a lane, its priority, its group (its own lane unless given). */
const at = (lane: string, priority: LanePriority = 'clean', group = lane) => ({ lane, priority, group });

describe('HashQueue', () => {
  it('runs at most `concurrency` tasks at once', async () => {
    const queue = new HashQueue({ concurrency: 2, maxWaitMs: 10_000 });
    const gates = Array.from({ length: 5 }, gate);
    const runs = gates.map((g) => queue.run(at('a', 'clean'), g.task));
    await tick();
    assert.deepEqual(queue.load, { running: 2, queued: 3, lanes: 1 });
    gates.forEach((g) => g.open());
    await Promise.all(runs);
    assert.deepEqual(queue.load, { running: 0, queued: 0, lanes: 0 });
  });

  it('lanes take turns within a tier: a deep lane does not delay the others by its depth', async () => {
    const queue = new HashQueue({ concurrency: 1, maxWaitMs: 10_000 });
    const order: string[] = [];
    const blocker = gate();
    const first = queue.run(at('x', 'clean'), blocker.task);
    const deep = Array.from({ length: 20 }, () => queue.run(at('deep', 'clean'), async () => void order.push('deep')));
    const others = Array.from({ length: 3 }, (_, i) => queue.run(at(`bulk${i}`, 'clean'), async () => void order.push(`bulk${i}`)));
    const more = Array.from({ length: 3 }, (_, i) => queue.run(at(`bulk${i}`, 'clean'), async () => void order.push(`bulk${i}`)));
    blocker.open();
    await Promise.all([first, ...deep, ...others, ...more]);
    assert.deepEqual(order.slice(0, 4), ['deep', 'bulk0', 'bulk1', 'bulk2'], 'one turn each');
  });

  it('a client with a single check (a person logging in) goes before bulk clients, whatever their depth', async () => {
    const queue = new HashQueue({ concurrency: 1, maxWaitMs: 10_000 });
    const order: string[] = [];
    const blocker = gate();
    const first = queue.run(at('x', 'clean'), blocker.task);
    // 30 clients with 10 checks each (the review's flood), then one person.
    const flood = Array.from({ length: 300 }, (_, i) => queue.run(at(`flood${i % 30}`, 'clean'), async () => void order.push('flood')));
    const person = queue.run(at('person', 'clean'), async () => void order.push('person'));
    blocker.open();
    await Promise.all([first, person, ...flood]);
    assert.equal(order.indexOf('person'), 0, 'served first');
  });

  it('of 8 turns, 6 go to single clients, 1 to bulk and 1 to suspect ones; an empty tier passes its turn on', async () => {
    const queue = new HashQueue({ concurrency: 1, maxWaitMs: 10_000 });
    const order: string[] = [];
    const blocker = gate();
    const first = queue.run(at('x', 'clean'), blocker.task);
    const jobs = [
      ...Array.from({ length: 8 }, (_, i) => queue.run(at(`guesser${i}`, 'suspect'), async () => void order.push('s'))),
      ...Array.from({ length: 8 }, () => queue.run(at('nat', 'clean'), async () => void order.push('b'))),
      ...Array.from({ length: 12 }, (_, i) => queue.run(at(`user${i}`, 'clean'), async () => void order.push('c'))),
    ];
    blocker.open();
    await Promise.all([first, ...jobs]);
    assert.equal(order.slice(0, 16).join(''), 'cccbcccscccbcccs');
    assert.equal(order.length, 28);
  });

  it('groups take turns before their lanes do: 80 /64s of one /48 delay a newcomer from another network by one check', async () => {
    const queue = new HashQueue({ concurrency: 1, maxWaitMs: 10_000 });
    const order: string[] = [];
    const blocker = gate();
    const first = queue.run(at('x'), blocker.task);
    const flood = Array.from({ length: 80 }, (_, i) => queue.run(at(`2001:db8:0:${i.toString(16)}::/64`, 'clean', '2001:db8:0::/48'), async () => void order.push('flood')));
    const person = queue.run(at('203.0.113.9', 'clean', '203.0.113.0/24'), async () => void order.push('person'));
    blocker.open();
    await Promise.all([first, person, ...flood]);
    assert.ok(order.indexOf('person') <= 1, `served after ${order.indexOf('person')} flood checks`);
  });

  it('a refused check leaves its lane at once: no dead jobs, no lanes left behind', async () => {
    const queue = new HashQueue({ concurrency: 1, maxWaitMs: 20 });
    const blocker = gate();
    const running = queue.run(at('a'), blocker.task);
    const alive = setInterval(() => undefined, 5);
    try {
      const refused = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => queue.run(at(`lane${i % 5}`, i % 2 ? 'suspect' : 'clean'), async () => 'never')));
      assert.ok(refused.every((r) => r.status === 'rejected'));
    } finally {
      clearInterval(alive);
    }
    assert.deepEqual(queue.load, { running: 1, queued: 0, lanes: 0 });
    blocker.open();
    await running;
  });

  it('refuses a task that waited longer than maxWaitMs with ERR_LOGIN_BUSY and Retry-After', async () => {
    const queue = new HashQueue({ concurrency: 1, maxWaitMs: 30 });
    const blocker = gate();
    const running = queue.run(at('a', 'clean'), blocker.task);
    const alive = setInterval(() => undefined, 5); // the queue's timers are unref'd
    try {
      await assert.rejects(queue.run(at('b', 'clean'), async () => 'never'), (err: Error & { status?: number; code?: string; headers?: Record<string, string> }) => {
        assert.equal(err.code, 'ERR_LOGIN_BUSY');
        assert.equal(err.status, 503);
        assert.equal(err.headers?.['retry-after'], '1');
        return true;
      });
    } finally {
      clearInterval(alive);
    }
    assert.deepEqual(queue.load, { running: 1, queued: 0, lanes: 0 });
    blocker.open();
    await running;
    assert.equal(await queue.run(at('c', 'clean'), async () => 'ran'), 'ran', 'a refused task leaves no hole behind');
  });

  it('when full, pushes out the newest task of the deepest lane so a newcomer gets a place', async () => {
    const queue = new HashQueue({ concurrency: 1, maxWaitMs: 10_000, maxQueued: 4 });
    const blocker = gate();
    const first = queue.run(at('deep', 'clean'), blocker.task);
    const deep = Array.from({ length: 4 }, () => queue.run(at('deep', 'clean'), async () => 'deep'));
    const newcomer = queue.run(at('new', 'clean'), async () => 'new');
    await assert.rejects(deep[3]!, { code: 'ERR_LOGIN_BUSY' });
    blocker.open();
    assert.equal(await newcomer, 'new');
    assert.deepEqual(await Promise.all([first, ...deep.slice(0, 3)]), [undefined, 'deep', 'deep', 'deep']);
  });
});

describe('clientGroupOf', () => {
  it('an IPv4 /24, an IPv6 /48 (or the client prefix when shorter)', () => {
    assert.equal(clientGroupOf('203.0.113.9', 64), '203.0.113.0/24');
    assert.equal(clientGroupOf('::ffff:203.0.113.9', 64), '203.0.113.0/24');
    assert.equal(clientGroupOf('2001:db8:1:2::1', 64), clientGroupOf('2001:db8:1:ffff::9', 64));
    assert.notEqual(clientGroupOf('2001:db8:1:2::1', 64), clientGroupOf('2001:db8:2:2::1', 64));
    assert.equal(clientGroupOf('2001:db8:1:2::1', 32), clientGroupOf('2001:db8:ffff::1', 32));
  });
});

describe('clientKeyOf', () => {
  it('IPv4 as is, IPv4-mapped as IPv4, IPv6 by prefix in one spelling', () => {
    assert.equal(clientKeyOf('203.0.113.9', 64), '203.0.113.9');
    assert.equal(clientKeyOf('::ffff:203.0.113.9', 64), '203.0.113.9');
    assert.equal(clientKeyOf('::ffff:cb00:7109', 64), '203.0.113.9');
    const a = clientKeyOf('2001:db8:1:2::1', 64);
    assert.equal(a, clientKeyOf('2001:0db8:0001:0002:abcd:0:0:1', 64));
    assert.equal(a, clientKeyOf('2001:db8:1:2:ffff:ffff:ffff:ffff%eth0', 64));
    assert.notEqual(a, clientKeyOf('2001:db8:1:3::1', 64));
    assert.equal(clientKeyOf('2001:db8:1:2::1', 48), clientKeyOf('2001:db8:1:ffff::1', 48));
    assert.notEqual(clientKeyOf('2001:db8:1:2::1', 128), clientKeyOf('2001:db8:1:2::2', 128));
    assert.equal(clientKeyOf('::1', 64), clientKeyOf('::2', 64));
    assert.equal(clientKeyOf('', 64), '');
  });
});
