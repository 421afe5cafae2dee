/**
 * The load balancer's assertion next to the gateway's own sessions: which one decides, an ended
 * session giving way, cross-site refusal of assertion-authenticated requests, --require-login
 * with --auth-exempt paths.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminJson, startGateway, type TestGateway } from '../helpers/gateway.js';
import { requestFrom } from '../helpers/from-address.js';
import { LocalAlb } from '../helpers/local-alb.js';
import { loginCookie } from '../helpers/login.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';
import { upstreamIdentity } from '../helpers/upstream-token.js';

const CAROL = { sub: 'c0000000-0000-4000-8000-000000000003', email: 'carol@example.test' };

describe('load balancer and sessions', () => {
  let alb: LocalAlb;
  let upstream: Recorder;
  let gateway: TestGateway;
  const seen = (path: string) => upstream.requests.filter((r) => r.url === path);
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => requestFrom('127.0.0.1', `${gateway.url}${path}`, { method, headers });

  before(async () => {
    alb = await LocalAlb.start();
    upstream = await startRecorder();
    gateway = await startGateway({
      args: ['--trust-proxy', '127.0.0.1/32', '--alb-key-url', alb.keyUrl, '--alb-arn', alb.arn, '--username-claim', 'email', '--auth-exempt', '/proxy/health/*', '--require-login'],
    });
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
    await adminJson(gateway, 'PUT', '/admin/users/dave', { password: 'dave-password-12', roles: ['ROLE_USER', 'ROLE_EDITOR'] });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    await alb?.close();
  });

  it('a live session decides before the assertion; once it ends, the assertion decides (no lockout until the cookie is cleared)', async () => {
    const token = alb.sign(CAROL);
    const cookie = await loginCookie(gateway, 'dave', 'dave-password-12');
    assert.equal((await get('/proxy/live', { cookie, 'x-amzn-oidc-data': token })).status, 200);
    assert.equal((await upstreamIdentity(gateway.url, seen('/live')[0]!)).sub, 'dave');

    const out = await fetch(`${gateway.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie } });
    assert.equal(out.status, 303);
    const after = await get('/proxy/ended', { cookie, 'x-amzn-oidc-data': token });
    assert.equal(after.status, 200, after.body);
    assert.equal((await upstreamIdentity(gateway.url, seen('/ended')[0]!)).sub, 'carol@example.test');
    const api = await get('/api/whoami', { cookie, 'x-amzn-oidc-data': token });
    assert.equal(api.status, 200, api.body);
    assert.equal((JSON.parse(api.body) as { name: string }).name, 'carol@example.test', '/api (the passport path) gives way too');
    assert.equal((await get('/proxy/ended-alone', { cookie })).status, 401, 'without an assertion the ended session is still a 401');
  });

  it('refuses an assertion-authenticated unsafe request from another site (403), like a cookie one', async () => {
    const token = alb.sign(CAROL);
    const before = upstream.requests.length;
    for (const headers of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }] as Record<string, string>[]) {
      const res = await get('/proxy/csrf', { 'x-amzn-oidc-data': token, ...headers }, 'POST');
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.match(res.body, /ERR_CROSS_SITE|another site/);
    }
    assert.equal((await get('/proxy/csrf', { 'x-amzn-oidc-data': token, 'x-http-method-override': 'DELETE', origin: 'https://evil.example' })).status, 403, 'an override counts');
    assert.equal(upstream.requests.length, before, 'nothing reached the upstream');
    assert.equal((await get('/proxy/csrf', { 'x-amzn-oidc-data': token, origin: gateway.url }, 'POST')).status, 200, 'its own origin');
    assert.equal((await get('/proxy/csrf', { 'x-amzn-oidc-data': token }, 'POST')).status, 200, 'no browser headers (a script behind the ALB)');
  });

  it('--require-login: no credential is a 401, except on an --auth-exempt path (the load balancer\'s health check)', async () => {
    assert.equal((await get('/proxy/private')).status, 401);
    const health = await get('/proxy/health/ready');
    assert.equal(health.status, 200);
    assert.equal((await upstreamIdentity(gateway.url, seen('/health/ready')[0]!)).sub, 'anonymousUser');
    assert.equal((await get('/proxy/health/../private')).status, 401, 'a dot segment does not stretch the exemption');
  });

  it('--require-login: an --auth-exempt prefix is not stretched by what an upstream reads as a way out (";" parameters, double decoding)', async () => {
    const before = upstream.requests.length;
    for (const path of ['/proxy/health/..;/private', '/proxy/health/..;a/private', '/proxy/health/..;/..;/private', '/proxy/health/%252e%252e/private', '/proxy/health/.%252e/private', '/proxy/health/..%3B/private', '/proxy/health/...', '/proxy/health//private']) {
      const res = await get(path);
      assert.equal(res.status, 401, path);
    }
    assert.equal(upstream.requests.length, before, 'none of them reached the upstream');
  });
});
