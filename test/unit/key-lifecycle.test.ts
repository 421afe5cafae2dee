/** The key life cycle (server/tokens/key-lifecycle/): its rules, and its transitions on a real SQLite store with an injected clock. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { openStore, type KeyRecord, type Store } from '../../server/store/index.js';
import {
  ensureSigningKeys,
  importPrivateKeyPem,
  importSigningKey,
  keyLifecycleOf,
  nextKeyChange,
  nextKeySafeFrom,
  revokeSigningKeys,
  rotateIfDue,
  rotateSigningKey,
  scheduledRotationAt,
  type KeyLifecycle,
  type KeyPolicy,
} from '../../server/tokens/index.js';
import { tempDir } from '../helpers/process.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2030, 0, 1);
const policy: KeyPolicy = { tokenTtlSeconds: 300, consumerCacheMaxSeconds: 3600, rotateEverySeconds: null };

function lifecycle(options: { rotateEverySeconds?: number | null; store?: Store; dir?: string } = {}) {
  const clock = { t: T0 };
  const dir = options.dir ?? tempDir();
  const store = options.store ?? openStore({ dataDir: dir });
  const lc: KeyLifecycle = keyLifecycleOf(store, { tokenTtlSeconds: 300, consumerCacheMaxSeconds: 3600, rotateEverySeconds: options.rotateEverySeconds ?? null, keyEncryptionKey: null }, () => clock.t);
  const states = async () => Object.fromEntries((await store.listKeys()).map((k) => [k.kid, k.state]));
  return { clock, store, lc, dir, states };
}

const k = (kid: string, state: KeyRecord['state'], publishedAt: number, activatesAt: number | null = null, notAfter: number | null = null): KeyRecord =>
  ({ kid, state, bits: 2048, createdAt: publishedAt, publishedAt, activatesAt, notAfter, publicJwk: '{}', privateKey: 'pem' });

describe('key life-cycle rules', () => {
  it('a next key published with the first key may sign at once; a later one after --consumer-cache-max', () => {
    assert.equal(nextKeySafeFrom([k('a', 'active', T0, T0), k('n', 'next', T0)], policy), T0);
    assert.equal(nextKeySafeFrom([k('a', 'retiring', T0, T0, T0 + 2 * HOUR), k('b', 'active', T0, T0 + HOUR), k('n', 'next', T0 + HOUR)], policy), T0 + 2 * HOUR);
    assert.equal(nextKeySafeFrom([k('a', 'retired', T0), k('b', 'active', T0 + DAY, T0 + DAY), k('n', 'next', T0 + DAY)], policy), T0 + DAY + HOUR, 'a retired key was published once: JWKS without n were served');
    assert.equal(nextKeySafeFrom([k('a', 'retiring', T0, T0, T0 + HOUR), k('b', 'active', T0, T0), k('n', 'next', T0)], policy), T0 + HOUR, 'a rotation in the same millisecond');
    assert.equal(nextKeySafeFrom([k('a', 'active', T0, T0)], policy), null);
  });

  it('a scheduled rotation: off by default; --rotate-every after activation, never before the next key is safe; an upgraded pending key keeps its time', () => {
    const keys = [k('a', 'active', T0, T0), k('n', 'next', T0)];
    assert.equal(scheduledRotationAt(keys, policy), null);
    assert.equal(scheduledRotationAt(keys, { ...policy, rotateEverySeconds: 30 * 86_400 }), T0 + 30 * DAY);
    const young = [k('a', 'retiring', T0, T0, T0 + 3 * HOUR), k('b', 'active', T0, T0 + 2 * HOUR), k('n', 'next', T0 + 2 * HOUR + 1)];
    assert.equal(scheduledRotationAt(young, { ...policy, rotateEverySeconds: 3600 }), T0 + 3 * HOUR + 1, 'waits for the next key to be safe');
    const upgraded = [k('a', 'active', T0, T0), k('p', 'next', T0 + 1000, T0 + 71_000)];
    assert.equal(scheduledRotationAt(upgraded, policy), T0 + 1000 + HOUR, 'the old 70 s schedule, but not before the next key is safe');
    assert.equal(nextKeyChange(young, { ...policy, rotateEverySeconds: 3600 }), T0 + 3 * HOUR, 'the earliest: a retirement');
  });
});

describe('key life-cycle transitions', () => {
  it('first keys: an active and a next key, published together, and nothing to do the second time', async () => {
    const { lc, store } = lifecycle();
    const change = await ensureSigningKeys(lc);
    assert.ok(change);
    assert.deepEqual([change.active.state, change.next.state, change.active.publishedAt, change.next.publishedAt, change.active.activatesAt], ['active', 'next', T0, T0, T0]);
    assert.equal(await ensureSigningKeys(lc), null);
    assert.equal((await store.listKeys()).length, 2);
    await store.close();
  });

  it('routine rotation: the next key signs at once, a new next key, the previous key retiring for token TTL + consumer cache', async () => {
    const { lc, store, clock, states } = lifecycle();
    const first = (await ensureSigningKeys(lc))!;
    clock.t += 10 * DAY;
    const rotated = await rotateSigningKey(lc, { bits: 2048, force: false });
    assert.equal(rotated.active.kid, first.next.kid);
    assert.equal(rotated.active.activatesAt, clock.t);
    assert.equal(rotated.next.publishedAt, clock.t);
    assert.deepEqual(rotated.replaced.map((r) => [r.kid, r.state, r.notAfter]), [[first.active.kid, 'retiring', clock.t + (300 + 3600) * 1000]]);
    assert.deepEqual(await states(), { [first.active.kid]: 'retiring', [first.next.kid]: 'active', [rotated.next.kid]: 'next' });
    await store.close();
  });

  it('a rotation with a next key younger than --consumer-cache-max is refused (409), until then or with force', async () => {
    const { lc, store, clock } = lifecycle();
    await ensureSigningKeys(lc);
    const once = await rotateSigningKey(lc, { bits: 2048, force: false });
    clock.t += HOUR - 1000;
    const before = JSON.stringify(await store.listKeys());
    await assert.rejects(rotateSigningKey(lc, { bits: 2048, force: false }), (err: Error & { code?: string; status?: number }) => {
      assert.equal(err.code, 'ERR_ROTATION_TOO_SOON');
      assert.equal(err.status, 409);
      assert.match(err.message, new RegExp(`${once.next.kid} was published 3599 s ago.*Rotate from ${new Date(T0 + HOUR).toISOString()}`));
      return true;
    });
    assert.equal(JSON.stringify(await store.listKeys()), before, 'refused: nothing written');
    clock.t += 1000;
    assert.equal((await rotateSigningKey(lc, { bits: 2048, force: false })).active.kid, once.next.kid);
    const forced = await rotateSigningKey(lc, { bits: 3072, force: true });
    assert.equal(forced.next.bits, 3072, '--bits sizes the new next key');
    await store.close();
  });

  it('emergency: the active and the next key are retired now (private keys erased), two fresh keys', async () => {
    const { lc, store, clock } = lifecycle();
    const first = (await ensureSigningKeys(lc))!;
    clock.t += 1000;
    const change = await revokeSigningKeys(lc, { bits: 2048 });
    assert.deepEqual(change.replaced.map((r) => [r.kid, r.state, r.privateKey, r.notAfter]).sort(), [[first.active.kid, 'retired', null, clock.t], [first.next.kid, 'retired', null, clock.t]].sort());
    assert.notEqual(change.active.kid, first.next.kid, 'the next key sat in the same store: it does not sign');
    assert.deepEqual([change.active.publishedAt, change.next.publishedAt], [clock.t, clock.t]);
    assert.equal(nextKeySafeFrom(await store.listKeys(), policy), clock.t + HOUR, 'the new next key is not treated as seen');
    await store.close();
  });

  it('import: into an empty store the key signs at once beside a generated next key; into a store with an active key it becomes the next key', async () => {
    const pem = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const { lc, store, clock, states } = lifecycle();
    const first = await importSigningKey(lc, await importPrivateKeyPem(pem()));
    assert.equal(first.imported.state, 'active');
    assert.equal(first.next.state, 'next');
    assert.equal(nextKeySafeFrom(await store.listKeys(), policy), T0, 'published together: the generated next key may sign at once');
    clock.t += 5000;
    const second = await importSigningKey(lc, await importPrivateKeyPem(pem()));
    assert.equal(second.imported.state, 'next');
    assert.equal(second.active.kid, first.imported.kid);
    assert.deepEqual(second.replaced.map((r) => [r.kid, r.state, r.privateKey]), [[first.next.kid, 'retired', null]]);
    assert.deepEqual(Object.values(await states()).sort(), ['active', 'next', 'retired']);
    await assert.rejects(importSigningKey(lc, { ...second.imported, privateKey: 'x' }), { code: 'ERR_KEY_IMPORT', message: /already in the store \(next\)/ });
    await store.close();
  });

  it('scheduled rotation: due --rotate-every after activation, applied once; replicas racing it rotate once', async () => {
    const { lc, store, clock, dir } = lifecycle({ rotateEverySeconds: 30 * 86_400 });
    const first = (await ensureSigningKeys(lc))!;
    clock.t = T0 + 30 * DAY - 1;
    assert.equal(await rotateIfDue(lc), null, 'not due yet');
    clock.t = T0 + 30 * DAY;
    // A second replica on the same store, with its own handle: both see the rotation due at once.
    const replica = lifecycle({ rotateEverySeconds: 30 * 86_400, dir });
    replica.clock.t = clock.t;
    const results = await Promise.all([rotateIfDue(lc), rotateIfDue(replica.lc)]);
    assert.deepEqual(results.map((r) => (r === null ? 'not due' : 'rotated' in r ? 'rotated' : 'elsewhere')).sort(), ['elsewhere', 'rotated'], 'both saw it due, exactly one rotated');
    const keys = await store.listKeys();
    assert.deepEqual(keys.map((r) => r.state).sort(), ['active', 'next', 'retiring']);
    assert.equal(keys.find((r) => r.state === 'active')!.kid, first.next.kid);
    assert.equal(await rotateIfDue(lc), null, 'the next rotation is 30 days away');
    assert.equal(scheduledRotationAt(keys, { ...policy, rotateEverySeconds: 30 * 86_400 }), T0 + 60 * DAY);
    await replica.store.close();
    await store.close();
  });
});
