/** GET /.well-known/jwks.json: the next key from the first start, cache-aware headers, strong ETag and 304, the same answer from every replica. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JSONWebKeySet } from 'jose';
import { adminJson, startGateway, type TestGateway } from '../helpers/gateway.js';

describe('JWKS caching', () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway?.stop());

  const get = (headers: Record<string, string> = {}, method = 'GET') => fetch(`${gateway.url}/.well-known/jwks.json`, { method, headers });

  it('answers the active and the next key with Cache-Control max-age=300 and a strong ETag', async () => {
    const res = await get();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
    assert.match(res.headers.get('etag')!, /^"[\w-]{43}"$/, 'strong: no W/ prefix');
    const jwks = (await res.json()) as JSONWebKeySet;
    const keys = (await adminJson(gateway, 'GET', '/admin/keys')).body as Array<{ kid: string; state: string }>;
    assert.deepEqual(jwks.keys.map((k) => k.kid), [keys.find((k) => k.state === 'active')!.kid, keys.find((k) => k.state === 'next')!.kid]);
  });

  it('304 without a body for If-None-Match with the current ETag (also weak, in a list, or *), 200 otherwise', async () => {
    const etag = (await get()).headers.get('etag')!;
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await get({ 'if-none-match': inm });
      assert.equal(res.status, 304, inm);
      assert.equal(await res.text(), '');
      assert.equal(res.headers.get('etag'), etag);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=300', 'a revalidation renews the cache lifetime');
    }
    for (const inm of ['"other"', etag.slice(0, -2) + '"', etag.slice(1, -1)]) assert.equal((await get({ 'if-none-match': inm })).status, 200, inm);
    // fetch() sends Cache-Control: no-cache with every conditional request; an origin still answers 304 (RFC 9110).
    assert.equal((await get({ 'if-none-match': etag, 'cache-control': 'no-cache' })).status, 304);
    const head = await get({}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('etag'), etag);
  });

  it('a rotation changes the ETag: a revalidation gets the new key set', async () => {
    const before = await get();
    const etag = before.headers.get('etag')!;
    const res = await fetch(`${gateway.url}/admin/keys/rotate`, { method: 'POST', headers: { authorization: gateway.adminAuth, 'content-type': 'application/json' } });
    assert.equal(res.status, 201);
    const revalidated = await get({ 'if-none-match': etag });
    assert.equal(revalidated.status, 200);
    assert.notEqual(revalidated.headers.get('etag'), etag);
    assert.equal(((await revalidated.json()) as JSONWebKeySet).keys.length, 3, 'active, next, and the previous key (retiring)');
  });

  it('two replicas on one store serve the same bytes and the same ETag: a 304 from either', async () => {
    const replica = await startGateway({ dataDir: gateway.dataDir });
    try {
      const [a, b] = await Promise.all([get(), fetch(`${replica.url}/.well-known/jwks.json`)]);
      assert.equal(a.headers.get('etag'), b.headers.get('etag'));
      assert.equal(await a.text(), await b.text());
      assert.equal((await fetch(`${replica.url}/.well-known/jwks.json`, { headers: { 'if-none-match': a.headers.get('etag')! } })).status, 304);
    } finally {
      await replica.stop();
    }
  });
});
