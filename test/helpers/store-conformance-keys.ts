/**
 * The part of the store conformance suite (store-conformance.ts, which runs it) about signing
 * keys: every transition, compare-and-set under races, and rewriting private key material.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { StoreFactory } from './store-conformance.js';

const key = (kid: string, createdAt = 1) => ({ kid, bits: 2048, createdAt, publicJwk: JSON.stringify({ kty: 'RSA', kid }), privateKey: `pem-${kid}` });

export function keyConformance(factory: StoreFactory): void {
  it('key transitions: first keys, rotation, retirement, emergency, a replaced next key', async () => {
    const store = await factory.create();
    const states = async () => (await store.listKeys()).map((k) => [k.kid, k.state]);
    const none = { active: null, next: null };
    assert.equal(await store.replaceSigningKeys({ expected: none, active: key('a1', 1), next: key('n1', 1), now: 100 }), true);
    let keys = await store.listKeys();
    assert.deepEqual(keys.map((k) => [k.kid, k.state, k.publishedAt, k.activatesAt, k.notAfter, k.privateKey]), [['a1', 'active', 100, 100, null, 'pem-a1'], ['n1', 'next', 100, null, null, 'pem-n1']]);
    assert.equal(await store.replaceSigningKeys({ expected: none, active: key('x', 2), next: key('y', 2), now: 110 }), false, 'not empty any more');

    // Routine rotation: next -> active, active -> retiring, a new next key.
    const r0 = await store.revision();
    assert.equal(await store.promoteNextKey({ expected: { active: 'a1', next: 'n1' }, newNext: key('n2', 3), previousNotAfter: 5000, now: 200 }), true);
    assert.ok((await store.revision()) > r0);
    keys = await store.listKeys();
    assert.deepEqual(keys.map((k) => [k.kid, k.state, k.publishedAt, k.activatesAt, k.notAfter]), [['a1', 'retiring', 100, 100, 5000], ['n1', 'active', 100, 200, null], ['n2', 'next', 200, null, null]]);
    assert.equal(keys.find((k) => k.kid === 'a1')!.privateKey, null, 'a key that stops signing loses its private key at once (only its public key stays published)');

    // Retirement at notAfter, private key erased; nothing due writes nothing.
    const r1 = await store.revision();
    assert.equal(await store.retireExpiredKeys(4999), 0);
    assert.equal(await store.revision(), r1, 'nothing due: no write');
    assert.equal(await store.retireExpiredKeys(5000), 1);
    assert.deepEqual((await store.listKeys()).map((k) => [k.kid, k.state, k.privateKey]), [['a1', 'retired', null], ['n1', 'active', 'pem-n1'], ['n2', 'next', 'pem-n2']]);

    // A replaced next key never signed: retired at once, private key erased.
    assert.equal(await store.replaceNextKey({ expected: { active: 'n1', next: 'n2' }, next: key('i1', 4), now: 6000 }), true);
    keys = await store.listKeys();
    assert.deepEqual(keys.filter((k) => k.kid === 'n2' || k.kid === 'i1').map((k) => [k.kid, k.state, k.notAfter, k.privateKey, k.publishedAt]), [['n2', 'retired', 6000, null, 200], ['i1', 'next', null, 'pem-i1', 6000]]);

    // Emergency: both the active and the next key retired now, two new keys.
    assert.equal(await store.replaceSigningKeys({ expected: { active: 'n1', next: 'i1' }, active: key('e1', 5), next: key('e2', 5), now: 7000 }), true);
    assert.deepEqual(await states(), [['a1', 'retired'], ['n1', 'retired'], ['n2', 'retired'], ['i1', 'retired'], ['e1', 'active'], ['e2', 'next']]);
    assert.ok((await store.listKeys()).filter((k) => k.state === 'retired').every((k) => k.privateKey === null));
    await store.close();
  });

  it('an emergency also takes out the keys still published after an earlier rotation', async () => {
    const store = await factory.create();
    await store.replaceSigningKeys({ expected: { active: null, next: null }, active: key('a1', 1), next: key('n1', 1), now: 100 });
    await store.promoteNextKey({ expected: { active: 'a1', next: 'n1' }, newNext: key('n2', 2), previousNotAfter: 99_000, now: 200 });
    assert.equal(await store.replaceSigningKeys({ expected: { active: 'n1', next: 'n2' }, active: key('e1', 3), next: key('e2', 3), now: 300, retireRetiring: true }), true);
    assert.deepEqual((await store.listKeys()).map((k) => [k.kid, k.state, k.privateKey]), [['a1', 'retired', null], ['n1', 'retired', null], ['n2', 'retired', null], ['e1', 'active', 'pem-e1'], ['e2', 'next', 'pem-e2']]);
    await store.close();
  });

  it('key transitions are compare-and-set: a stale expectation writes nothing, a kid is never inserted twice', async () => {
    const store = await factory.create();
    await store.replaceSigningKeys({ expected: { active: null, next: null }, active: key('a1', 1), next: key('n1', 1), now: 100 });
    const before = JSON.stringify(await store.listKeys());
    const revision = await store.revision();
    for (const expected of [{ active: 'a1', next: 'other' }, { active: 'other', next: 'n1' }, { active: null, next: 'n1' }]) {
      assert.equal(await store.promoteNextKey({ expected, newNext: key('n2', 2), previousNotAfter: 900, now: 200 }), false, JSON.stringify(expected));
      assert.equal(await store.replaceNextKey({ expected, next: key('n3', 2), now: 200 }), false);
      assert.equal(await store.replaceSigningKeys({ expected, active: key('x1', 2), next: key('x2', 2), now: 200 }), false);
    }
    assert.equal(JSON.stringify(await store.listKeys()), before);
    assert.equal(await store.revision(), revision, 'a refused transition does not move the revision');
    await assert.rejects(store.replaceNextKey({ expected: { active: 'a1', next: 'n1' }, next: key('a1', 3), now: 300 }), 'a kid is never inserted twice');
    assert.equal(JSON.stringify(await store.listKeys()), before, 'the failed insert changed nothing');
    await store.close();
  });

  it('two handles racing the same rotation: exactly one applies it', async () => {
    const store = await factory.create();
    const other = await factory.reopen(store);
    await store.replaceSigningKeys({ expected: { active: null, next: null }, active: key('a1', 1), next: key('n1', 1), now: 100 });
    const expected = { active: 'a1', next: 'n1' };
    const results = await Promise.all([
      store.promoteNextKey({ expected, newNext: key('n2', 2), previousNotAfter: 900, now: 200 }),
      other.promoteNextKey({ expected, newNext: key('n3', 2), previousNotAfter: 900, now: 200 }),
    ]);
    assert.deepEqual(results.sort(), [false, true]);
    const keys = await other.listKeys();
    assert.equal(keys.filter((k) => k.state === 'active').length, 1);
    assert.equal(keys.filter((k) => k.state === 'next').length, 1);
    assert.equal(keys.length, 3);
    await other.close();
    await store.close();
  });

  it('rewrites private key material', async () => {
    const store = await factory.create();
    await store.replaceSigningKeys({ expected: { active: null, next: null }, active: key('k1', 1), next: key('k2', 2), now: 0 });
    assert.equal(await store.rewritePrivateKeys((kid, pem) => `sealed(${kid},${pem})`), 2);
    assert.deepEqual((await store.listKeys()).map((k) => k.privateKey), ['sealed(k1,pem-k1)', 'sealed(k2,pem-k2)']);
    await store.close();
  });
}
