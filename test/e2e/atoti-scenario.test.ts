/**
 * The Atoti proxy documentation's scenario, end to end: the real gateway process and a real
 * upstream (proxy-target-examples/node-zero-deps) that verifies every token.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';
import { startExample, type TestUpstream } from '../helpers/upstream.js';

const ALICE = basicAuth('Alice', 'abcdef123456');

describe('Atoti proxy scenario (secured gateway)', () => {
  let gateway: TestGateway;
  let upstream: TestUpstream;

  before(async () => {
    gateway = await startGateway();
    upstream = await startExample('node-zero-deps', { JWKS_URL: `${gateway.url}/.well-known/jwks.json`, JWT_ISSUER: 'jwtgate' });
  });
  after(async () => {
    await upstream?.stop();
    await gateway?.stop();
  });

  const get = (path: string, auth?: string, headers: Record<string, string> = {}) =>
    fetch(gateway.url + path, { headers: { ...headers, ...(auth ? { authorization: auth } : {}) } });

  it('answers 501 "The proxy is disabled." before a target is set', async () => {
    for (const path of ['/proxy', '/proxy/whoami?mode=jwt', '/proxy/']) {
      const res = await get(path);
      assert.equal(res.status, 501);
      assert.match(res.headers.get('content-type')!, /^text\/plain/);
      assert.equal(await res.text(), 'The proxy is disabled.');
    }
    assert.deepEqual((await adminJson(gateway, 'GET', '/admin/proxy')).body, { url: null });
  });

  it('sets the target through the admin API', async () => {
    const res = await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { url: upstream.url });
    assert.deepEqual((await adminJson(gateway, 'GET', '/admin/proxy')).body, { url: upstream.url });
  });

  it('forwards anonymous calls as anonymousUser with ROLE_ANONYMOUS (jwt mode)', async () => {
    const res = await get('/proxy/whoami?mode=jwt');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { name: 'anonymousUser', roles: ['ROLE_ANONYMOUS'] });
  });

  it('refuses the session call-back of an anonymous caller (no ROLE_USER): upstream answers 403', async () => {
    assert.equal((await get('/proxy/whoami?mode=session')).status, 403);
  });

  it('adds a user with roles, who is then forwarded with them (jwt and session modes)', async () => {
    const created = await adminJson(gateway, 'PUT', '/admin/users/Alice', { password: 'abcdef123456', roles: ['ROLE_WONDERLAND', 'ROLE_USER'] });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body, { name: 'Alice', roles: ['ROLE_USER', 'ROLE_WONDERLAND'], hasPassword: true });
    for (const mode of ['jwt', 'session']) {
      const res = await get(`/proxy/whoami?mode=${mode}`, ALICE);
      assert.equal(res.status, 200, mode);
      assert.deepEqual(await res.json(), { name: 'Alice', roles: ['ROLE_USER', 'ROLE_WONDERLAND'] });
    }
  });

  it('answers 401 for a wrong password, never downgrading to anonymous', async () => {
    for (const auth of [basicAuth('Alice', 'wrong-password'), basicAuth('Nobody', 'abcdef123456'), 'Basic %%%', 'Bearer whatever']) {
      const res = await get('/proxy/whoami?mode=jwt', auth);
      assert.equal(res.status, 401, auth);
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="jwtgate"');
    }
  });

  it('passes the upstream 400 for an invalid mode and 404 for an unhandled path', async () => {
    assert.equal((await get('/proxy/whoami?mode=invalid')).status, 400);
    assert.equal((await get('/proxy')).status, 404);
  });

  it('echoes a random binary body byte-for-byte with Content-Length and the custom header', async () => {
    for (const size of [32, 1 << 20]) {
      const bytes = randomBytes(size);
      const res = await fetch(`${gateway.url}/proxy`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(res.status, 200);
      assert.equal(Number(res.headers.get('content-length')), bytes.length);
      assert.equal(res.headers.get('x-custom-header'), 'lorem ipsum');
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes));
    }
  });

  it('streams a chunked upload of unknown length', async () => {
    const parts = [randomBytes(1000), randomBytes(70_000), randomBytes(5)];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const p of parts) controller.enqueue(p);
        controller.close();
      },
    });
    const res = await fetch(`${gateway.url}/proxy/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(Buffer.concat(parts)));
  });

  it('sends the JWT, X-Forwarded-* of its own, the query byte-for-byte, and never the client credentials', async () => {
    const res = await get('/proxy/headers?a=%20b&&c=%zz&d=%2F', ALICE, {
      'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https', 'x-forwarded-for': '6.6.6.6', forwarded: 'for=6.6.6.6', 'proxy-authorization': 'Basic eDp5', 'x-other': 'kept',
    });
    const seen = (await res.json()) as { headers: Record<string, string>; url: string };
    assert.equal(seen.url, '/headers?a=%20b&&c=%zz&d=%2F');
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${gateway.port}`);
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['forwarded'], undefined);
    assert.equal(seen.headers['proxy-authorization'], undefined);
    assert.equal(seen.headers['x-other'], 'kept');
    assert.equal(seen.headers['host'], new URL(upstream.url).host);
    const [scheme, token] = seen.headers['authorization']!.split(' ');
    assert.equal(scheme, 'Bearer');
    assert.ok(!JSON.stringify(seen).includes('YWxpY2U') && !JSON.stringify(seen).includes(ALICE.slice(6)), 'basic credentials leaked');

    const jwks = (await (await get('/.well-known/jwks.json')).json()) as JSONWebKeySet;
    const header = decodeProtectedHeader(token!);
    assert.deepEqual(header, { alg: 'RS512', typ: 'JWT', kid: jwks.keys[0]!.kid });
    const { payload } = await jwtVerify(token!, createLocalJWKSet(jwks), { algorithms: ['RS512'], issuer: 'jwtgate' });
    assert.equal(payload.sub, 'Alice');
    assert.deepEqual(payload['authorities'], ['ROLE_USER', 'ROLE_WONDERLAND']);
    assert.equal(payload.aud, undefined);
    assert.equal(payload.exp! - payload.iat!, 300);
  });

  it('publishes the JWKS with RS512 signature keys', async () => {
    const res = await get('/.well-known/jwks.json');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control')!, /max-age=\d+/);
    const { keys } = (await res.json()) as JSONWebKeySet;
    assert.equal(keys.length, 2, 'the active key and the next key');
    assert.deepEqual(Object.keys(keys[0]!).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    assert.equal(keys[0]!.alg, 'RS512');
    assert.equal(keys[0]!.use, 'sig');
  });

  it('refuses raw paths that climb out of the target', async () => {
    for (const target of ['/proxy/../admin/users', '/proxy/%2e%2e/x', '/proxy/a/%252e%252e/%252e%252e/x', 'http://127.0.0.1/proxy/x']) {
      const answer = await rawRequest(gateway.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 400 /, target);
    }
  });

  it('disables the proxy again: 501', async () => {
    const res = await adminJson(gateway, 'PUT', '/admin/proxy', { url: null });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { url: null });
    const disabled = await get('/proxy/whoami?mode=jwt');
    assert.equal(disabled.status, 501);
    assert.equal(await disabled.text(), 'The proxy is disabled.');
  });
});

describe('Atoti proxy scenario (--insecure gateway)', () => {
  let gateway: TestGateway;
  let upstream: TestUpstream;

  before(async () => {
    gateway = await startGateway({ args: ['--insecure'] });
    upstream = await startExample('node-zero-deps', { JWKS_URL: `${gateway.url}/.well-known/jwks.json` });
  });
  after(async () => {
    await upstream?.stop();
    await gateway?.stop();
  });

  it('logs a warning at start', () => {
    assert.match(gateway.output(), /--insecure/);
  });

  it('treats every caller as anonymousUser with ROLE_ADMIN, ROLE_ANONYMOUS, ROLE_USER, and session mode succeeds', async () => {
    assert.equal((await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url }, null)).status, 200);
    const expected = { name: 'anonymousUser', roles: ['ROLE_ADMIN', 'ROLE_ANONYMOUS', 'ROLE_USER'] };
    for (const mode of ['jwt', 'session']) {
      const res = await fetch(`${gateway.url}/proxy/whoami?mode=${mode}`);
      assert.equal(res.status, 200, mode);
      assert.deepEqual(await res.json(), expected);
    }
    const whoami = await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('whoever', 'whatever') } });
    assert.deepEqual(await whoami.json(), expected);
  });
});
