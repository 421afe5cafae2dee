/** The admin API and /api/whoami against the real gateway: access rules, bad input, persistence. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startRecorder } from '../helpers/recorder.js';

describe('admin API', () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway();
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/bob', { password: 'bob-password-1', roles: ['ROLE_USER'] })).status, 201);
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/norole', { password: 'norole-password', roles: [] })).status, 201);
  });
  after(() => gateway?.stop());

  it('401 with a Basic challenge without credentials, 403 without ROLE_ADMIN', async () => {
    for (const [method, path] of [['GET', '/admin/proxy'], ['PUT', '/admin/proxy'], ['GET', '/admin/users'], ['PUT', '/admin/users/x'], ['DELETE', '/admin/users/bob']] as const) {
      const anonymous = await adminJson(gateway, method, path, method === 'PUT' ? { url: null } : undefined, null);
      assert.equal(anonymous.status, 401, `${method} ${path}`);
      assert.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="jwtgate"');
      assert.equal((anonymous.body as { code: string }).code, 'ERR_UNAUTHORIZED');
      const bob = await adminJson(gateway, method, path, method === 'PUT' ? { url: null } : undefined, basicAuth('bob', 'bob-password-1'));
      assert.equal(bob.status, 403, `${method} ${path}`);
      assert.equal((bob.body as { code: string }).code, 'ERR_FORBIDDEN');
    }
    assert.equal((await adminJson(gateway, 'GET', '/admin/users', undefined, basicAuth('admin', 'wrong-password'))).status, 401);
  });

  it('never accepts a forwarded bearer token on /admin or /proxy', async () => {
    // Mint a genuine token: it is what the upstream would receive for the admin.
    const token = await tokenOfAdmin(gateway);
    const admin = await adminJson(gateway, 'GET', '/admin/users', undefined, `Bearer ${token}`);
    assert.equal(admin.status, 401);
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: 'http://127.0.0.1:9' });
    const proxy = await fetch(`${gateway.url}/proxy/x`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(proxy.status, 401);
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: null });
    const api = await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual(await api.json(), { name: 'admin', roles: ['ROLE_ADMIN', 'ROLE_USER'] });
  });

  it('refuses bad proxy URLs with 400 naming the problem, and stores nothing', async () => {
    for (const url of ['ftp://x.test', 'not a url', 'http://u:p@x.test', 'http://x.test/?q=1', 'http://x.test/#f', '/relative', 42, true, {}]) {
      const res = await adminJson(gateway, 'PUT', '/admin/proxy', { url });
      assert.equal(res.status, 400, JSON.stringify(url));
      assert.equal((res.body as { code: string }).code, 'ERR_INVALID_TARGET_URL');
      assert.ok((res.body as { error: string }).error.length > 5);
    }
    for (const body of [{}, { url: 'http://x.test', extra: 1 }, [], 'http://x.test']) {
      const res = await adminJson(gateway, 'PUT', '/admin/proxy', body);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    assert.deepEqual((await adminJson(gateway, 'GET', '/admin/proxy')).body, { url: null });
  });

  it('refuses an empty cross-site-form POST (415): a browser with cached credentials cannot rotate keys', async () => {
    // What a page on another origin can send without a preflight: a form (urlencoded, multipart,
    // text/plain), or a no-cors fetch without any Content-Type. All empty, all refused.
    const keysBefore = (await adminJson(gateway, 'GET', '/admin/keys')).body;
    for (const headers of [{ 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': 'multipart/form-data; boundary=x' }, { 'content-type': 'text/plain' }, {}] as Array<Record<string, string>>) {
      const res = await fetch(`${gateway.url}/admin/keys/rotate`, { method: 'POST', headers: { authorization: gateway.adminAuth, ...headers } });
      assert.equal(res.status, 415, JSON.stringify(headers));
      const body = (await res.json()) as { code: string; error: string };
      assert.equal(body.code, 'ERR_UNSUPPORTED_MEDIA_TYPE');
      assert.match(body.error, /Content-Type: application\/json \(even without a body/, 'the answer says what to send');
    }
    assert.deepEqual((await adminJson(gateway, 'GET', '/admin/keys')).body, keysBefore, 'nothing rotated');
  });

  it('POST /admin/keys/rotate takes an empty body with Content-Type: application/json (the documented optional body)', async () => {
    const before = (await adminJson(gateway, 'GET', '/admin/keys')).body as Array<{ kid: string; state: string }>;
    const res = await fetch(`${gateway.url}/admin/keys/rotate`, { method: 'POST', headers: { authorization: gateway.adminAuth, 'content-type': 'application/json' } });
    assert.equal(res.status, 201, await res.clone().text());
    const change = (await res.json()) as { active: { kid: string } };
    assert.equal(change.active.kid, before.find((k) => k.state === 'next')!.kid);
  });

  it('accepts only application/json bodies (415) and valid JSON (400)', async () => {
    const form = await fetch(`${gateway.url}/admin/proxy`, { method: 'PUT', headers: { authorization: gateway.adminAuth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'url=http://x.test' });
    assert.equal(form.status, 415);
    const broken = await fetch(`${gateway.url}/admin/proxy`, { method: 'PUT', headers: { authorization: gateway.adminAuth, 'content-type': 'application/json' }, body: '{"url": ' });
    assert.equal(broken.status, 400);
    assert.equal(((await broken.json()) as { code: string }).code, 'ERR_BAD_REQUEST');
  });

  it('lists users without hashes', async () => {
    const res = await adminJson(gateway, 'GET', '/admin/users');
    assert.equal(res.status, 200);
    const users = res.body as Array<Record<string, unknown>>;
    assert.deepEqual(users.find((u) => u.name === 'admin'), { name: 'admin', roles: ['ROLE_ADMIN', 'ROLE_USER'], hasPassword: true });
    assert.doesNotMatch(JSON.stringify(users), /scrypt|hash"/);
  });

  it('creates (201), updates (200) and deletes (204, then 404) users', async () => {
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/carol', { roles: ['ROLE_USER'] })).status, 201);
    const updated = await adminJson(gateway, 'PUT', '/admin/users/carol', { password: 'carol-password', roles: ['ROLE_USER', 'ROLE_X'] });
    assert.equal(updated.status, 200);
    assert.deepEqual(updated.body, { name: 'carol', roles: ['ROLE_USER', 'ROLE_X'], hasPassword: true });
    const whoami = await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('carol', 'carol-password') } });
    assert.deepEqual(await whoami.json(), { name: 'carol', roles: ['ROLE_USER', 'ROLE_X'] });
    // A role change is visible on the very next request (the credential cache is dropped).
    await adminJson(gateway, 'PUT', '/admin/users/carol', { roles: ['ROLE_USER'] });
    const again = await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('carol', 'carol-password') } });
    assert.deepEqual(await again.json(), { name: 'carol', roles: ['ROLE_USER'] });
    assert.equal((await adminJson(gateway, 'DELETE', '/admin/users/carol')).status, 204);
    assert.equal((await adminJson(gateway, 'DELETE', '/admin/users/carol')).status, 404);
    const gone = await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('carol', 'carol-password') } });
    assert.equal(gone.status, 401);
  });

  it('refuses bad user names, roles and passwords with 400 and writes nothing', async () => {
    const before = JSON.stringify((await adminJson(gateway, 'GET', '/admin/users')).body);
    const cases: Array<[string, unknown]> = [
      [`/admin/users/${'x'.repeat(200)}`, { roles: [] }],
      ['/admin/users/a%0Ab', { roles: [] }],
      ['/admin/users/a%3Ab', { roles: [] }],
      ['/admin/users/anonymousUser', { roles: [] }],
      ['/admin/users/%20padded', { roles: [] }],
      ['/admin/users/dan', { roles: 'ROLE_USER' }],
      ['/admin/users/dan', { roles: [''] }],
      ['/admin/users/dan', { roles: ['ROLE\u0007'] }],
      ['/admin/users/dan', { roles: ['A,B'] }],
      ['/admin/users/dan', { roles: ['R'.repeat(129)] }],
      ['/admin/users/dan', { password: 'short' }],
      ['/admin/users/dan', { password: 12345678901234 }],
      ['/admin/users/dan', { password: 'long-enough-but\u0000nul' }],
      ['/admin/users/dan', { hash: 'x' }],
      ['/admin/users/dan', ['ROLE_USER']],
    ];
    for (const [path, body] of cases) {
      const res = await adminJson(gateway, 'PUT', path, body);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.equal((res.body as { code: string }).code, 'ERR_INVALID_INPUT');
    }
    assert.equal(JSON.stringify((await adminJson(gateway, 'GET', '/admin/users')).body), before);
  });

  it('refuses to remove the last administrator (409)', async () => {
    assert.equal((await adminJson(gateway, 'DELETE', '/admin/users/admin')).status, 409);
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/admin', { roles: ['ROLE_USER'] })).status, 409);
  });

  it('/api/whoami: 401 anonymous, 403 without ROLE_USER, 200 with it', async () => {
    assert.equal((await fetch(`${gateway.url}/api/whoami`)).status, 401);
    assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('norole', 'norole-password') } })).status, 403);
    assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('bob', 'bob-password-1') } })).status, 200);
  });

  it('accepts passwords containing or starting with ":" on every path', async () => {
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/colon', { password: ':starts:with:colon', roles: ['ROLE_USER'] })).status, 201);
    const auth = basicAuth('colon', ':starts:with:colon');
    assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: auth } })).status, 200);
    assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('colon', ':starts') } })).status, 401);
  });

  it('answers JSON 404 for unknown routes and /healthz 200', async () => {
    const missing = await fetch(`${gateway.url}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: string }).code, 'ERR_NOT_FOUND');
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
  });

  it('keeps the proxy URL and users across a restart', async () => {
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: 'http://127.0.0.1:9/base' });
    assert.equal(await gateway.stop(), 0);
    gateway = await startGateway({ dataDir: gateway.dataDir });
    assert.deepEqual((await adminJson(gateway, 'GET', '/admin/proxy')).body, { url: 'http://127.0.0.1:9/base' });
    assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('bob', 'bob-password-1') } })).status, 200);
  });
});

/** Captures the token the gateway forwards for the admin, with a recording upstream. */
async function tokenOfAdmin(gateway: TestGateway): Promise<string> {
  const upstream = await startRecorder();
  const previous = (await adminJson(gateway, 'GET', '/admin/proxy')).body as { url: string | null };
  await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
  await fetch(`${gateway.url}/proxy/`, { headers: { authorization: gateway.adminAuth } });
  await adminJson(gateway, 'PUT', '/admin/proxy', previous);
  await upstream.close();
  const token = String(upstream.requests.at(-1)?.headers.authorization).replace(/^Bearer /, '');
  assert.ok(token.split('.').length === 3);
  return token;
}

