/**
 * What a stream of made-up kids can cost (review 13, F2): a trusted peer sending tokens with
 * random UUID kids gets a few key-server requests a second at most, never more than four at once,
 * and users of a known key are never affected — not while the flood runs, not while the key
 * server is slow or down, not when their key is due to be fetched again — and (second review,
 * G1/G2) neither users of a genuinely new kid during such a flood, nor a known key when the
 * flood names kids the key server does serve.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createAlbVerifier, DEFAULT_CLAIM_MAPPING, type AlbSettings, type VerifierTuning } from '../../server/identity/assertions/index.js';
import { LocalAlb, paddedSegment } from '../helpers/local-alb.js';

describe('ALB key fetches under a flood of unknown kids', () => {
  let alb: LocalAlb;
  before(async () => {
    alb = await LocalAlb.start();
  });
  after(() => alb.close());

  const settings = (): AlbSettings => ({ keyUrlTemplate: alb.keyUrl, arn: alb.arn, clientId: null, issuer: null, bypassValidation: false });
  const verifier = (tuning: VerifierTuning = {}) => createAlbVerifier(settings(), DEFAULT_CLAIM_MAPPING, tuning);
  /** A token the ALB never made: a random kid and a signature of garbage. */
  const madeUp = () => {
    const [h, p] = alb.sign({ sub: 'mallory' }, { kid: randomUUID() }).split('.');
    return `${h}.${p}.${paddedSegment(Buffer.alloc(64, 7))}`;
  };

  it('2000 made-up kids at once: at most 4 key requests open and 10 made; each answered 401 or 503; a known key still answers without a request', async () => {
    const v = verifier();
    await v.verify(alb.sign({ sub: 'alice' }));
    const before = alb.keyRequests();
    alb.takePeakKeyRequests();
    const outcomes = await Promise.allSettled(Array.from({ length: 2000 }, () => v.verify(madeUp())));
    const codes = new Map<string, number>();
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'rejected');
      const { code, status } = outcome.reason as { code: string; status: number };
      const key = `${status} ${code}`;
      codes.set(key, (codes.get(key) ?? 0) + 1);
    }
    assert.deepEqual([...codes.keys()].sort(), ['401 ERR_INVALID_ASSERTION', '503 ERR_ASSERTION_KEYS_UNAVAILABLE']);
    const made = alb.keyRequests() - before;
    assert.ok(made >= 4 && made <= 13, `key requests made: ${made}`);
    assert.ok(alb.takePeakKeyRequests() <= 4);
    const fresh = alb.sign({ sub: 'bob' });
    assert.equal((await v.verify(fresh)).name, 'bob');
    assert.equal(alb.keyRequests() - before, made, 'the known key was not fetched again');
  });

  it('with the key server hanging, a flood neither delays nor fails a known key; new kids get 503 at once beyond the cap', async () => {
    const v = verifier({ keys: { timeoutMs: 2000 } });
    await v.verify(alb.sign({ sub: 'alice' }));
    alb.mode = 'slow';
    try {
      const flood = Array.from({ length: 500 }, () => v.verify(madeUp()).catch((err: { code: string }) => err.code));
      const started = performance.now();
      assert.equal((await v.verify(alb.sign({ sub: 'carol' }))).name, 'carol');
      assert.ok(performance.now() - started < 200, 'no wait on the key server');
      const codes = await Promise.all(flood);
      assert.ok(codes.every((code) => code === 'ERR_ASSERTION_KEYS_UNAVAILABLE'));
      assert.ok(alb.takePeakKeyRequests() <= 4);
    } finally {
      alb.mode = 'up';
    }
  });

  it('new kids are let through at the configured rate once the burst is spent', async () => {
    let now = Date.now();
    const v = verifier({ now: () => now, clockToleranceSeconds: 3600, keys: { newKidBurst: 3, newKidsPerSecond: 1, newKidMaxWaitMs: 50 } });
    const before = alb.keyRequests();
    for (let i = 0; i < 3; i++) await assert.rejects(v.verify(madeUp()), { code: 'ERR_INVALID_ASSERTION', reason: 'unknown-kid' });
    await assert.rejects(v.verify(madeUp()), { code: 'ERR_ASSERTION_KEYS_UNAVAILABLE', status: 503 });
    assert.equal(alb.keyRequests() - before, 3);
    now += 1000;
    await assert.rejects(v.verify(madeUp()), { reason: 'unknown-kid' });
    await assert.rejects(v.verify(madeUp()), { code: 'ERR_ASSERTION_KEYS_UNAVAILABLE' });
    assert.equal(alb.keyRequests() - before, 4);
  });

  it('a key due to be fetched again is used meanwhile; a key server that is down keeps it, one that says 404 withdraws it', async () => {
    let now = Date.now();
    const v = verifier({ now: () => now, clockToleranceSeconds: 30 * 86_400, keys: { keyTtlMs: 60_000, failureTtlMs: 5_000 } });
    const kid = alb.addKey();
    await v.verify(alb.sign({ sub: 'alice' }));
    assert.equal(alb.keyRequests(kid), 1);
    now += 61_000;
    alb.mode = 'error';
    try {
      assert.equal((await v.verify(alb.sign({ sub: 'bob' }))).name, 'bob', 'used while it is fetched again');
      await waitFor(() => alb.keyRequests(kid) === 2);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal((await v.verify(alb.sign({ sub: 'carol' }))).name, 'carol', 'the key server failed: the key stays');
      assert.equal(alb.keyRequests(kid), 2, 'and is asked again only after the failure lifetime');
    } finally {
      alb.mode = 'up';
    }
    const [dave, erin] = [alb.sign({ sub: 'dave' }), alb.sign({ sub: 'erin' })];
    alb.addKey();
    alb.withdraw(kid);
    now += 6_000;
    assert.equal((await v.verify(dave)).name, 'dave', 'still known while the key server is asked');
    await waitFor(() => alb.keyRequests(kid) === 3);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await assert.rejects(v.verify(erin), { code: 'ERR_INVALID_ASSERTION', reason: 'unknown-kid' });
  });
  it('after the ALB rotates its key, a user retrying one request at a time gets in within 2.5 s during a flood of 600 made-up kids a second (the most requested kid is fetched first)', async () => {
    const v = verifier();
    await v.verify(alb.sign({ sub: 'alice' }));
    let flooding = true;
    const flood = (async () => {
      // About 600 made-up kids a second, each asked once: what the second review sent.
      while (flooding) {
        for (let i = 0; i < 30; i++) v.verify(madeUp()).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const kid = alb.addKey();
      const started = performance.now();
      const outcomes: { status: 'ok' | 'refused'; at: number }[] = [];
      // One user at a time, as a browser retrying after each 503: never more than one request waits for the new kid.
      while (performance.now() - started < 5000) {
        const ok = await v.verify(alb.sign({ sub: `user-${outcomes.length}` })).then(() => true, () => false);
        outcomes.push({ status: ok ? 'ok' : 'refused', at: performance.now() - started });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const firstIn = Math.min(...outcomes.filter((o) => o.status === 'ok').map((o) => o.at));
      assert.ok(firstIn < 2500, `the first user got in after ${firstIn} ms`);
      assert.equal(alb.keyRequests(kid), 1, 'the new kid was fetched once');
      const late = outcomes.filter((o) => o.at > firstIn);
      assert.ok(late.length > 0 && late.every((o) => o.status === 'ok'), 'every user after that gets in');
    } finally {
      flooding = false;
      await flood;
    }
  });

  it('keys the key server serves that never verified a token of this ALB do not evict the keys that did', async () => {
    const v = verifier({ keys: { maxKeys: 2, maxProbation: 2 } });
    const realKid = alb.kid;
    const fetchedBefore = alb.keyRequests(realKid);
    await v.verify(alb.sign({ sub: 'alice' }));
    const otherKids = Array.from({ length: 6 }, () => alb.addKey());
    alb.kid = realKid;
    for (const kid of otherKids) {
      const [h, p] = alb.sign({ sub: 'mallory' }, { kid }).split('.');
      await assert.rejects(v.verify(`${h}.${p}.${paddedSegment(Buffer.alloc(64, 7))}`), { reason: 'signature' });
    }
    assert.deepEqual(otherKids.map((kid) => alb.keyRequests(kid)), otherKids.map(() => 1), 'each one fetched');
    assert.equal((await v.verify(alb.sign({ sub: 'bob' }))).name, 'bob');
    assert.equal(alb.keyRequests(realKid) - fetchedBefore, 1, 'the real key was never evicted and fetched again');
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition());
}
