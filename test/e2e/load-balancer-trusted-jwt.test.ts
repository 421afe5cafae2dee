/**
 * A trusted JWT from an authenticating proxy (a jose-signed assertion, its JWKS served locally),
 * and --identity-header for header-auth upstreams, against the real gateway and a recording
 * upstream: configured headers set from the identity, and spoofed ones (any case, "_") never
 * reaching the upstream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { requestFrom, type Answer } from '../helpers/from-address.js';
import { LocalJwks } from '../helpers/local-alb.js';
import { rawRequest } from '../helpers/raw.js';
import { startRecorder, type Recorder, type Recorded } from '../helpers/recorder.js';
import { upstreamIdentity } from '../helpers/upstream-token.js';

const HEADER = 'X-Pomerium-Jwt-Assertion';
const IDENTITY_HEADERS = ['--identity-header', 'X-WEBAUTH-USER=name', '--identity-header', 'X-WEBAUTH-EMAIL=email', '--identity-header', 'X-Forwarded-Roles=roles', '--identity-header', 'X-Team=claim:team'];
/** Every spelling a client might try for the headers an upstream trusts. */
const SPOOFED = [
  'X-WEBAUTH-USER: admin', 'x-webauth-user: admin', 'X-Webauth-User: admin', 'X_WEBAUTH_USER: admin', 'x_webauth_user: admin', 'X-WEBAUTH-EMAIL: admin@evil.test',
  'X-Forwarded-Roles: ROLE_ADMIN', 'X_Forwarded_Roles: ROLE_ADMIN', 'X-Team: evil', 'X_TEAM: evil', 'x-TEAM: evil', 'Remote-User: admin', 'X-Remote-User: admin',
  'X-Forwarded-User: admin', 'X-Auth-Request-User: admin', 'X-Amzn-Oidc-Identity: admin', 'Cf-Access-Authenticated-User-Email: admin@evil.test',
  'X-Pomerium-Claim-Email: admin@evil.test', 'X-Goog-Authenticated-User-Email: admin@evil.test', 'X-MS-CLIENT-PRINCIPAL-NAME: admin',
];
const SPOOF_VALUES = /admin|evil|ROLE_ADMIN/;

describe('load balancer: trusted JWT and identity headers', () => {
  let jwks: LocalJwks;
  let upstream: Recorder;
  let gateway: TestGateway;
  const get = (path: string, headers: Record<string, string> = {}, from = '127.0.0.1'): Promise<Answer> => requestFrom(from, `${gateway.url}${path}`, { headers });
  const seen = (path: string): Recorded => upstream.requests.find((r) => r.url === path)!;
  /** A raw request with the spoofed headers (and `extra` lines), as no normalizing client would send it. */
  const spoofed = (path: string, extra: string[] = [], from = '127.0.0.1') =>
    rawRequest(gateway.port, [`GET ${path} HTTP/1.1`, 'Host: x', ...SPOOFED, ...extra, 'Connection: close', '', ''].join('\r\n'), { localAddress: from });
  const identityHeadersOf = (recorded: Recorded) =>
    Object.fromEntries(Object.entries(recorded.headers).filter(([name]) => /webauth|roles|team|remote|user|email|principal|amzn|pomerium|cf-access/i.test(name)));

  before(async () => {
    jwks = await LocalJwks.start({ algorithms: ['RS256', 'ES256', 'ES384'] });
    upstream = await startRecorder();
    gateway = await startGateway({
      args: ['--trust-proxy', '127.0.0.1/32', '--trusted-jwt-header', HEADER, '--trusted-jwks-url', jwks.url, '--trusted-issuer', jwks.issuer, '--trusted-audience', jwks.audience, '--roles-claim', 'groups', ...IDENTITY_HEADERS],
    });
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
    await adminJson(gateway, 'PUT', '/admin/users/bob', { password: 'bob-password-12', roles: ['ROLE_USER'] });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    await jwks?.close();
  });

  it('forwards a valid assertion (RS256, ES256) as its user, and sets exactly the configured identity headers', async () => {
    for (const alg of ['RS256', 'ES256'] as const) {
      const token = await jwks.sign({ sub: 'dana', email: 'dana@example.test', groups: ['ROLE_USER', 'analysts'], team: 'core' }, { alg });
      const path = `/ok-${alg}`;
      assert.match(await spoofed(`/proxy${path}`, [`${HEADER}: ${token}`]), /^HTTP\/1\.1 200 /);
      assert.deepEqual(await upstreamIdentity(gateway.url, seen(path)), { sub: 'dana', authorities: ['ROLE_USER', 'analysts'] });
      assert.deepEqual(identityHeadersOf(seen(path)), { 'x-webauth-user': 'dana', 'x-webauth-email': 'dana@example.test', 'x-forwarded-roles': 'ROLE_USER,analysts', 'x-team': 'core' });
      assert.equal(seen(path).headers[HEADER.toLowerCase()], undefined, 'the assertion itself is not forwarded');
    }
    assert.equal(jwks.requests, 1, 'the key set is fetched once');
  });

  it('refuses a wrong issuer, a wrong audience, an algorithm not accepted, no exp, or another signer: 401 ERR_INVALID_ASSERTION', async () => {
    const claims = { sub: 'dana' };
    const other = await LocalJwks.start({ algorithms: ['RS256'] });
    const cases: Record<string, string> = {
      'wrong issuer': await jwks.sign(claims, { issuer: 'https://evil.example' }),
      'no issuer': await jwks.sign(claims, { issuer: null }),
      'wrong audience': await jwks.sign(claims, { audience: 'another-app' }),
      'ES384 (not in --trusted-algorithms)': await jwks.sign(claims, { alg: 'ES384' }),
      'no exp': await jwks.sign(claims, { ttlSeconds: null }),
      expired: await jwks.sign(claims, { now: Date.now() - 3_600_000 }),
      'another key': await other.sign(claims, { issuer: jwks.issuer, audience: jwks.audience }),
      'alg none': `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, iss: jwks.issuer, aud: jwks.audience, exp: 9e9 })).toString('base64url')}.`,
    };
    await other.close();
    for (const [what, token] of Object.entries(cases)) {
      const res = await get('/api/whoami', { [HEADER]: token });
      assert.equal(res.status, 401, what);
      assert.equal(JSON.parse(res.body).code, 'ERR_INVALID_ASSERTION', what);
      assert.doesNotMatch(String(res.headers['www-authenticate']), /^Basic/, what);
      assert.equal((await get('/proxy/refused', { [HEADER]: token })).status, 401, what);
    }
    assert.equal(upstream.requests.filter((r) => r.url === '/refused').length, 0);
  });

  it('refuses a name that can pass for another (zero-width, bidi, full-width), and leaves out a name or email header with a comma', async () => {
    for (const sub of ['admin\u200b', 'alice\u202egnp.exe', 'ａｄｍｉｎ']) {
      const res = await get('/api/whoami', { [HEADER]: await jwks.sign({ sub }) });
      assert.equal(res.status, 401, JSON.stringify(sub));
      assert.equal(JSON.parse(res.body).code, 'ERR_INVALID_ASSERTION');
    }
    const token = await jwks.sign({ sub: 'evil,admin', email: '"admin,x"@example.com', groups: ['ROLE_USER'], team: 'core' });
    assert.equal((await get('/proxy/comma', { [HEADER]: token })).status, 200);
    assert.equal((await upstreamIdentity(gateway.url, seen('/comma'))).sub, 'evil,admin', 'the token carries the name as it is');
    assert.deepEqual(identityHeadersOf(seen('/comma')), { 'x-forwarded-roles': 'ROLE_USER', 'x-team': 'core' }, 'X-WEBAUTH-USER and -EMAIL are left out, never sent as a list');
  });

  it('never lets a spoofed identity header through: anonymous callers get none, basic users get their own', async () => {
    assert.match(await spoofed('/proxy/anonymous'), /^HTTP\/1\.1 200 /);
    assert.deepEqual(identityHeadersOf(seen('/anonymous')), {}, 'nothing is set for anonymousUser (a header-auth upstream would sign it up)');
    assert.match(await spoofed('/proxy/basic', [`Authorization: ${basicAuth('bob', 'bob-password-12')}`]), /^HTTP\/1\.1 200 /);
    assert.deepEqual(identityHeadersOf(seen('/basic')), { 'x-webauth-user': 'bob', 'x-forwarded-roles': 'ROLE_USER' });
    for (const path of ['/anonymous', '/basic']) {
      assert.doesNotMatch(JSON.stringify(seen(path).headers), SPOOF_VALUES, path);
      assert.ok(!Object.keys(seen(path).headers).some((name) => name.includes('_')), path);
    }
  });

  it('ignores and removes the trusted JWT of an untrusted peer', async () => {
    const token = await jwks.sign({ sub: 'dana' });
    assert.match(await spoofed('/proxy/untrusted', [`${HEADER}: ${token}`], '127.0.0.2'), /^HTTP\/1\.1 200 /);
    assert.deepEqual(await upstreamIdentity(gateway.url, seen('/untrusted')), { sub: 'anonymousUser', authorities: ['ROLE_ANONYMOUS'] });
    assert.deepEqual(identityHeadersOf(seen('/untrusted')), {});
  });
});

describe('load balancer: trusted JWT key set unreachable', () => {
  it('answers 503 ERR_ASSERTION_KEYS_UNAVAILABLE with Retry-After, within the fetch timeout; the failure is then remembered briefly', async () => {
    const jwks = await LocalJwks.start();
    const gateway = await startGateway({ args: ['--trust-proxy', '127.0.0.1', '--trusted-jwt-header', 'Cf-Access-Jwt-Assertion', '--trusted-jwks-url', jwks.url] });
    try {
      // Slow first: it waits for the 3 s fetch timeout; the failure is then remembered (10 s), so the next request is answered at once.
      for (const mode of ['slow', 'error'] as const) {
        jwks.mode = mode;
        const started = performance.now();
        const res = await requestFrom('127.0.0.1', `${gateway.url}/api/whoami`, { headers: { 'cf-access-jwt-assertion': await jwks.sign({ sub: 'erin' }) } });
        const seconds = (performance.now() - started) / 1000;
        assert.equal(res.status, 503, `${mode}: ${res.body}`);
        assert.equal(JSON.parse(res.body).code, 'ERR_ASSERTION_KEYS_UNAVAILABLE');
        assert.match(String(res.headers['retry-after']), /^\d+$/);
        assert.ok(mode === 'slow' ? seconds > 2.5 && seconds < 5 : seconds < 1, `${mode}: ${seconds.toFixed(1)} s`);
      }
    } finally {
      await gateway.stop();
      await jwks.close();
    }
  });
});
