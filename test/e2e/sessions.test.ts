/** Browser sessions over real HTTP: the login page, the cookie, its life cycle, and what /proxy makes of it. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { requestFrom } from '../helpers/from-address.js';
import { login } from '../helpers/login.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';
import { upstreamIdentity } from '../helpers/upstream-token.js';

describe('sessions: the login page', () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway();
    await adminJson(gateway, 'PUT', '/admin/users/alice', { password: 'alice-password-1', roles: ['ROLE_USER'] });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('GET /login: a form, no script, a CSP, no framing, no caching, no sniffing', async () => {
    const res = await fetch(`${gateway.url}/login?next=/proxy/reports`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(res.headers.get('content-type')!, /^text\/html/);
    assert.match(res.headers.get('content-security-policy')!, /default-src 'none'/);
    assert.doesNotMatch(res.headers.get('content-security-policy')!, /unsafe-inline/);
    assert.match(res.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.doesNotMatch(html, /<script|onclick=|onload=|style=/i, 'nothing inline');
    assert.match(html, /<form method="post" action="\/login">/);
    assert.match(html, /name="next" value="\/proxy\/reports"/);
    const css = await fetch(`${gateway.url}/login/style.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type')!, /text\/css/);
  });

  it('a successful login sets the cookie (HttpOnly, SameSite=Lax, Path=/, not Secure over http) and redirects to next', async () => {
    const { res, setCookie, cookie } = await login(gateway, 'alice', 'alice-password-1', { next: '/proxy/x?y=1#frag' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/proxy/x?y=1#frag');
    assert.match(setCookie, /^jwtgate_session=[\w-]+\.[\w-]{43}\.[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=86400$/);
    assert.ok(cookie);
    const me = await fetch(`${gateway.url}/api/session`, { headers: { cookie: cookie! } });
    assert.equal(me.status, 200);
    const body = (await me.json()) as { name: string; via: string; session: { handle: string; expiresAt: string } };
    assert.equal(body.name, 'alice');
    assert.equal(body.via, 'session');
    assert.match(body.session.handle, /^[\w-]{12}$/);
    assert.ok(Date.parse(body.session.expiresAt) > Date.now());
  });

  it('a failed login shows the form again with one generic message (unknown user and wrong password alike)', async () => {
    const wrong = await login(gateway, 'alice', 'wrong-password', { next: '/proxy/x' });
    const unknown = await login(gateway, 'nobody', 'whatever-pass', { next: '/proxy/x' });
    for (const answer of [wrong, unknown]) {
      assert.equal(answer.res.status, 401);
      assert.equal(answer.cookie, undefined);
      assert.match(answer.text, /Invalid user name or password\./);
      assert.match(answer.text, /name="next" value="\/proxy\/x"/);
      assert.equal(answer.res.headers.get('www-authenticate'), null, 'no browser password prompt');
    }
    assert.doesNotMatch(wrong.text, /wrong-password/, 'the password is never echoed');
  });

  for (const next of ['//evil.example', '/\\evil.example', 'https://evil.example', 'http://evil.example/x', '%2F%2Fevil.example', '/%2F%2Fevil.example', '/\t/evil.example', 'javascript:alert(1)', '///evil.example', '\\\\evil.example', ' /x', '/x\r\nLocation: //evil']) {
    it(`never redirects off the gateway: next=${JSON.stringify(next)}`, async () => {
      const { res } = await login(gateway, 'alice', 'alice-password-1', { next });
      assert.equal(res.status, 303);
      const location = res.headers.get('location')!;
      const resolved = new URL(location, 'http://gateway.test');
      assert.equal(resolved.origin, 'http://gateway.test', `${next} -> ${location}`);
      assert.ok(location.startsWith('/') && !location.startsWith('//') && !location.startsWith('/\\'), location);
    });
  }

  it('a new login never reuses a session id the client brought (no fixation)', async () => {
    const planted = (await login(gateway, 'alice', 'alice-password-1')).cookie!;
    const again = await login(gateway, 'alice', 'alice-password-1', { cookie: planted });
    assert.ok(again.cookie && again.cookie !== planted);
    const forged = 'jwtgate_session=aaaaaaaa.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
    const third = await login(gateway, 'alice', 'alice-password-1', { cookie: forged });
    assert.ok(third.cookie && third.cookie !== forged && third.cookie !== again.cookie);
  });

  it('the login form shares the throttle of Basic logins (429), and the login page refuses a cross-site post (403)', async () => {
    const throttled = await startGateway({ args: ['--max-login-failures', '2'] });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await login(throttled, 'admin', `wrong-${i}`)).res.status, 401);
      const blocked = await login(throttled, 'admin', 'another-wrong');
      assert.equal(blocked.res.status, 429);
      assert.ok(Number(blocked.res.headers.get('retry-after')) > 0);
      assert.equal((await fetch(`${throttled.url}/api/whoami`, { headers: { authorization: basicAuth('admin', 'wrong') } })).status, 429, 'the same throttle');
    } finally {
      await throttled.stop();
    }
    const cross = await login(gateway, 'alice', 'alice-password-1', { headers: { origin: 'https://evil.example' } });
    assert.equal(cross.res.status, 403);
    assert.equal(cross.cookie, undefined);
    assert.equal((await login(gateway, 'alice', 'alice-password-1', { headers: { 'sec-fetch-site': 'cross-site' } })).res.status, 403);
    assert.equal((await login(gateway, 'alice', 'alice-password-1', { headers: { origin: gateway.url } })).res.status, 303, 'its own origin');
    const form = await fetch(`${gateway.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(form.status, 415);
  });
});

describe('sessions: /proxy and /api with the cookie', () => {
  let gateway: TestGateway;
  let upstream: Recorder;
  before(async () => {
    gateway = await startGateway({ args: ['--allowed-origins', 'https://app.example.com'] });
    upstream = await startRecorder();
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
    await adminJson(gateway, 'PUT', '/admin/users/bob', { password: 'bob-password-12', roles: ['ROLE_USER'] });
  });
  after(async () => {
    await upstream?.close();
    await gateway?.stop();
  });

  const proxied = (cookie: string, init: RequestInit = {}) => fetch(`${gateway.url}/proxy/x`, { ...init, headers: { cookie, ...(init.headers as Record<string, string>) } });

  it('forwards the session\'s user with the CURRENT roles; the gateway\'s cookie never reaches the upstream, the others pass unchanged', async () => {
    const { cookie } = await login(gateway, 'bob', 'bob-password-12');
    const res = await proxied(`theme=dark; ${cookie!}; lang=en`);
    assert.equal(res.status, 200);
    assert.deepEqual(await upstreamIdentity(gateway.url, upstream.requests.at(-1)!), { sub: 'bob', authorities: ['ROLE_USER'] });
    assert.equal(upstream.requests.at(-1)!.headers.cookie, 'theme=dark; lang=en');
    await proxied(cookie!);
    assert.equal(upstream.requests.at(-1)!.headers.cookie, undefined, 'no Cookie header left at all');
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/bob', { roles: ['ROLE_USER', 'ROLE_EDITOR'] })).status, 200);
    assert.equal((await proxied(cookie!)).status, 200);
    assert.deepEqual((await upstreamIdentity(gateway.url, upstream.requests.at(-1)!)).authorities, ['ROLE_EDITOR', 'ROLE_USER'], 'a role change shows on the very next request');
    const api = await fetch(`${gateway.url}/api/whoami`, { headers: { cookie: cookie! } });
    assert.deepEqual(await api.json(), { name: 'bob', roles: ['ROLE_EDITOR', 'ROLE_USER'] });
  });

  it('the Authorization header comes first; a tampered, unsigned or ambiguous cookie is a 401 that clears it, never anonymous', async () => {
    const { cookie } = await login(gateway, 'bob', 'bob-password-12');
    assert.equal((await proxied(cookie!, { headers: { authorization: gateway.adminAuth } })).status, 200);
    assert.equal((await upstreamIdentity(gateway.url, upstream.requests.at(-1)!)).sub, 'admin');
    const [name, value] = cookie!.split('=') as [string, string];
    const flipped = value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A');
    for (const bad of [`${name}=${flipped}`, `${name}=nonsense`, `${name}=${value.split('.').slice(0, 2).join('.')}`, `${cookie}; ${name}=${flipped}`]) {
      const res = await proxied(bad);
      assert.equal(res.status, 401, bad);
      assert.match(res.headers.get('set-cookie') ?? '', /^jwtgate_session=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0/);
      assert.doesNotMatch(res.headers.get('www-authenticate') ?? '', /Basic/);
    }
    // A cookie planted by a sibling subdomain (Domain=example.com; Path=/proxy/app) is cleared where it may live.
    const planted = await requestFrom('127.0.0.1', `${gateway.url}/proxy/app/page`, { headers: { host: 'gw.example.com', cookie: `${name}=planted; ${cookie!}` } });
    assert.equal(planted.status, 401);
    const clears = planted.headers['set-cookie']!;
    for (const scope of ['Path=/;', 'Path=/proxy/app;', 'Path=/proxy/app; Domain=example.com;', 'Path=/proxy; Domain=example.com;']) {
      assert.ok(clears.some((line) => line.startsWith(`${name}=; ${scope}`) && line.includes('Max-Age=0')), `clears ${scope}: ${clears.join(' | ')}`);
    }
    assert.equal((await fetch(`${gateway.url}/admin/users`, { headers: { cookie: cookie! } })).status, 401, '/admin does not take the cookie');
    // A bad Authorization header is not rescued by the cookie that comes with it.
    for (const authorization of ['Bearer not.a.token', basicAuth('bob', 'wrong-password')]) {
      assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { cookie: cookie!, authorization } })).status, 401, `/api: ${authorization.split(' ')[0]}`);
      assert.equal((await proxied(cookie!, { headers: { authorization } })).status, 401, `/proxy: ${authorization.split(' ')[0]}`);
    }
  });

  it('an upstream cannot set or clear the gateway\'s cookie; its other cookies reach the browser', async () => {
    const setter = await startRecorder((_req, res) => {
      res.setHeader('set-cookie', ['jwtgate_session=planted; Path=/', '__Host-jwtgate_session=planted; Path=/; Secure', 'JWTGATE_SESSION=x; Path=/proxy', 'theme=dark; Path=/']);
      res.end('ok');
    });
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: setter.url });
      const { cookie } = await login(gateway, 'bob', 'bob-password-12');
      const res = await proxied(cookie!);
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers.getSetCookie(), ['theme=dark; Path=/']);
    } finally {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
      await setter.close();
    }
  });

  it('logout, an administrator, a user deletion and a password change all end the session on the very next request', async () => {
    const next = async () => (await login(gateway, 'bob', 'bob-password-12')).cookie!;
    const a = await next();
    const out = await fetch(`${gateway.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: a } });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie')!, /^jwtgate_session=; .*Max-Age=0/);
    assert.equal((await proxied(a)).status, 401, 'logout');

    const b = await next();
    const handle = ((await (await fetch(`${gateway.url}/api/session`, { headers: { cookie: b } })).json()) as { session: { handle: string } }).session.handle;
    const listed = (await adminJson(gateway, 'GET', '/admin/sessions?user=bob')).body as { handle: string; user: string }[];
    assert.ok(listed.some((s) => s.handle === handle));
    assert.ok(!JSON.stringify(listed).includes(b.split('=')[1]!.split('.')[1]!), 'never the id');
    assert.equal((await adminJson(gateway, 'DELETE', `/admin/sessions/${handle}`)).status, 204);
    assert.equal((await proxied(b)).status, 401, 'revoked by an administrator');
    assert.equal((await adminJson(gateway, 'DELETE', `/admin/sessions/${handle}`)).status, 404);

    await adminJson(gateway, 'DELETE', '/admin/users/bob/sessions');
    const c = await next();
    const d = await next();
    assert.deepEqual((await adminJson(gateway, 'DELETE', '/admin/users/bob/sessions')).body, { ended: 2 });
    assert.equal((await proxied(c)).status, 401);
    assert.equal((await proxied(d)).status, 401);

    const e = await next();
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/bob', { password: 'bob-password-new' })).status, 200);
    assert.equal((await proxied(e)).status, 401, 'a password change');
    const f = (await login(gateway, 'bob', 'bob-password-new')).cookie!;
    assert.equal((await adminJson(gateway, 'DELETE', '/admin/users/bob')).status, 204);
    assert.equal((await proxied(f)).status, 401, 'a deleted user');
    await adminJson(gateway, 'PUT', '/admin/users/bob', { password: 'bob-password-12', roles: ['ROLE_USER'] });
    const audit = fs.readFileSync(`${gateway.dataDir}/audit.log`, 'utf8');
    assert.match(audit, /"action":"session.login"/);
    assert.match(audit, /"action":"session.logout"/);
    assert.match(audit, /"action":"session.revoke"/);
  });

  it('refuses a cookie-authenticated unsafe request from another site (403), on /proxy and /api; allows its own origin and --allowed-origins', async () => {
    const { cookie } = await login(gateway, 'bob', 'bob-password-12');
    const before = upstream.requests.length;
    for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }] as Record<string, string>[]) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) assert.equal((await proxied(cookie!, { method, headers })).status, 403, `${method} ${JSON.stringify(headers)}`);
      assert.equal((await fetch(`${gateway.url}/api/whoami`, { method: 'POST', headers: { cookie: cookie!, ...headers } })).status, 403);
    }
    assert.equal(upstream.requests.length, before, 'nothing reached the upstream');
    assert.equal((await proxied(cookie!, { method: 'POST', headers: { origin: gateway.url } })).status, 200, 'its own origin');
    assert.equal((await proxied(cookie!, { method: 'POST', headers: { origin: 'https://app.example.com' } })).status, 200, '--allowed-origins');
    assert.equal((await proxied(cookie!, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } })).status, 200);
    assert.equal((await proxied(cookie!, { headers: { origin: 'https://evil.example' } })).status, 200, 'a safe method (GET) is not refused');
    for (const override of [{ 'x-http-method-override': 'DELETE' }, { 'x-method-override': 'put' }] as Record<string, string>[]) {
      assert.equal((await proxied(cookie!, { headers: { origin: 'https://evil.example', ...override } })).status, 403, `a GET that asks to be a ${JSON.stringify(override)}`);
    }
    assert.equal((await fetch(`${gateway.url}/proxy/x?_method=DELETE`, { headers: { cookie: cookie!, 'sec-fetch-site': 'cross-site' } })).status, 403, '_method=DELETE on a GET');
    // Browsers add cached Basic credentials to another site's form post on their own: refused too.
    assert.equal((await fetch(`${gateway.url}/proxy/x`, { method: 'POST', headers: { authorization: gateway.adminAuth, origin: 'https://evil.example' } })).status, 403, 'Basic from another site');
    assert.equal((await fetch(`${gateway.url}/proxy/x`, { method: 'POST', headers: { authorization: gateway.adminAuth } })).status, 200, 'Basic without a browser\'s Origin (curl, a script)');
  });

  it('gateway-made answers carry no-store (admin, api, login, logout) and nosniff', async () => {
    for (const path of ['/admin/users', '/api/whoami', '/login']) {
      const res = await fetch(`${gateway.url}${path}`, { headers: { authorization: gateway.adminAuth } });
      assert.equal(res.headers.get('cache-control'), 'no-store', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('access-control-allow-origin'), null, 'no CORS');
    }
    assert.equal((await fetch(`${gateway.url}/healthz`)).headers.get('x-content-type-options'), 'nosniff');
  });
});
