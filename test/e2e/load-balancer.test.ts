/**
 * The AWS ALB's x-amzn-oidc-data against the real gateway: a LocalAlb (padded ES256 tokens, its
 * PEM keys served per kid over HTTP), a recording upstream, requests from a trusted loopback
 * address (127.0.0.1) and from an untrusted one (127.0.0.2).
 */
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { requestFrom, type Answer } from '../helpers/from-address.js';
import { LocalAlb, paddedSegment, withoutPadding } from '../helpers/local-alb.js';
import { rawRequest } from '../helpers/raw.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';
import { upstreamIdentity } from '../helpers/upstream-token.js';

const ALICE = { sub: 'b7a1c2d0-0000-4000-8000-000000000001', email: 'alice@example.test', 'custom:roles': ['admins', 'unmapped'] };

describe('load balancer: the AWS ALB assertion', () => {
  let alb: LocalAlb;
  let upstream: Recorder;
  let gateway: TestGateway;
  const get = (path: string, headers: Record<string, string> = {}, from = '127.0.0.1'): Promise<Answer> => requestFrom(from, `${gateway.url}${path}`, { headers });
  const withAssertion = (token: string, path = '/proxy/x', from = '127.0.0.1') => get(path, { 'x-amzn-oidc-data': token }, from);
  const seen = (path: string) => upstream.requests.filter((r) => r.url === path);
  /** A token made by hand: its header and payload as given, padded like the ALB's, signed (or not) by `signature`. */
  const forge = (header: Record<string, unknown>, payload: Record<string, unknown>, signature: (input: string) => Buffer = () => Buffer.alloc(0)) => {
    const input = `${paddedSegment(header)}.${paddedSegment(payload)}`;
    return `${input}.${paddedSegment(signature(input))}`;
  };
  const albHeader = (extra: Record<string, unknown> = {}) => ({ typ: 'JWT', kid: alb.kid, alg: 'ES256', iss: alb.issuer, client: alb.clientId, signer: alb.arn, exp: Math.floor(Date.now() / 1000) + 60, ...extra });

  before(async () => {
    alb = await LocalAlb.start();
    upstream = await startRecorder();
    gateway = await startGateway({
      args: [
        '--trust-proxy', '127.0.0.1/32', '--alb-key-url', alb.keyUrl, '--alb-arn', alb.arn, '--alb-client-id', alb.clientId, '--alb-issuer', alb.issuer,
        '--username-claim', 'email', '--roles-claim', 'custom:roles', '--role-map', 'admins=ROLE_ADMIN', '--role-map', 'ops=ROLE_OPS', '--auth-exempt', '/proxy/health/*',
      ],
    });
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    await alb?.close();
  });

  it('forwards a valid assertion as the mapped user with the mapped roles, and never the assertion itself', async () => {
    const token = alb.sign(ALICE, { ensurePadding: true });
    assert.match(token.split('.')[1]!, /=$/, 'the payload segment is padded, as the ALB sends it');
    const res = await get('/proxy/valid', { 'x-amzn-oidc-data': token, 'x-amzn-oidc-identity': ALICE.sub, 'x-amzn-oidc-accesstoken': 'opaque-access-token' });
    assert.equal(res.status, 200, res.body);
    const [forwarded] = seen('/valid');
    assert.deepEqual(await upstreamIdentity(gateway.url, forwarded!), { sub: 'alice@example.test', authorities: ['ROLE_ADMIN', 'ROLE_USER'] });
    for (const name of Object.keys(forwarded!.headers)) assert.ok(!name.startsWith('x-amzn-oidc'), `${name} reached the upstream`);
    assert.ok(!JSON.stringify(forwarded!.headers).includes('opaque-access-token'));
    const whoami = await get('/api/whoami', { 'x-amzn-oidc-data': token });
    assert.deepEqual(JSON.parse(whoami.body), { name: 'alice@example.test', roles: ['ROLE_ADMIN', 'ROLE_USER'] });
    const users = await adminJson(gateway, 'GET', '/admin/users');
    assert.ok(!(users.body as { name: string }[]).some((u) => u.name === 'alice@example.test'), 'without --auto-create-users the user is not stored');
  });

  it('refuses every assertion the ALB would not send, with 401 ERR_INVALID_ASSERTION and no Basic challenge', async () => {
    const pem = alb.publicPem();
    const now = Math.floor(Date.now() / 1000);
    const cases: Record<string, string> = {
      'padding stripped': withoutPadding(alb.sign(ALICE, { ensurePadding: true })),
      'unpadded JWT signed by the ALB key': alb.sign(ALICE, { unpadded: true, ensurePadding: true }),
      'another ALB (signer)': alb.sign(ALICE, { header: { signer: alb.arn.replace('test-alb', 'other-alb') } }),
      'another client': alb.sign(ALICE, { header: { client: 'someone-else' } }),
      'another issuer': alb.sign(ALICE, { header: { iss: 'https://evil.example' } }),
      'alg none': forge(albHeader({ alg: 'none' }), ALICE),
      'HS256 keyed with the public PEM': forge(albHeader({ alg: 'HS256' }), ALICE, (input) => createHmac('sha256', pem).update(input).digest()),
      ES384: alb.sign(ALICE, { header: { alg: 'ES384' } }),
      'expired (beyond the 30 s leeway)': alb.sign(ALICE, { now: Date.now() - 300_000, ttlSeconds: 60 }),
      'payload expired': alb.sign({ ...ALICE, exp: now - 120 }),
      'bad signature': `${alb.sign(ALICE).split('.').slice(0, 2).join('.')}.${paddedSegment(Buffer.alloc(64, 1))}`,
      'claims without the username claim': alb.sign({ sub: 'no-email' }),
    };
    for (const [what, token] of Object.entries(cases)) {
      const proxied = await withAssertion(token);
      assert.equal(proxied.status, 401, what);
      assert.match(String(proxied.headers['www-authenticate']), /^Bearer realm="jwtgate", error="invalid_token"$/, `${what}: no Basic password dialog behind the ALB`);
      const api = await withAssertion(token, '/api/whoami');
      assert.equal(JSON.parse(api.body).code, 'ERR_INVALID_ASSERTION', what);
    }
    assert.equal(upstream.requests.filter((r) => r.url === '/x').length, 0, 'nothing reached the upstream');
    assert.equal(alb.keyRequests(), 1, 'only the genuine kid was ever fetched (the header checks come first)');
  });

  it('with --username-claim email: refuses an address the IdP calls unverified, accepts a verified one (Cognito says "true")', async () => {
    for (const email_verified of [false, 'false']) {
      const res = await withAssertion(alb.sign({ ...ALICE, email_verified }), '/api/whoami');
      assert.equal(res.status, 401, String(email_verified));
      assert.equal(JSON.parse(res.body).code, 'ERR_INVALID_ASSERTION');
    }
    for (const email_verified of [true, 'true']) {
      const res = await withAssertion(alb.sign({ ...ALICE, email_verified }), '/api/whoami');
      assert.equal(JSON.parse(res.body).name, 'alice@example.test', String(email_verified));
    }
  });

  it('refuses an unknown kid (the key server says 404) and a kid shaped as a path or a host without asking', async () => {
    const unknown = randomUUID();
    const res = await withAssertion(alb.sign(ALICE, { kid: unknown }), '/api/whoami');
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(res.body).code, 'ERR_INVALID_ASSERTION');
    assert.equal(alb.keyRequests(unknown), 1);
    const before = alb.keyRequests();
    for (const kid of [`../${alb.kid}`, `${alb.kid}/../../x`, `x@127.0.0.1:1/${alb.kid}`, `%2e%2e%2f${alb.kid}`, `${alb.kid}?x=1`, '']) {
      const answer = await withAssertion(alb.sign(ALICE, { header: { kid } }), '/api/whoami');
      assert.equal(answer.status, 401, kid);
      assert.equal(JSON.parse(answer.body).code, 'ERR_INVALID_ASSERTION', kid);
    }
    assert.equal(alb.keyRequests(), before, 'no key request for a kid that is not a UUID');
  });

  it('answers 503 ERR_ASSERTION_KEYS_UNAVAILABLE with Retry-After when the key server is down or slow, within the fetch timeout', async () => {
    for (const mode of ['error', 'slow'] as const) {
      const kid = alb.addKey();
      alb.mode = mode;
      const started = performance.now();
      const res = await withAssertion(alb.sign(ALICE), '/api/whoami');
      const seconds = (performance.now() - started) / 1000;
      alb.mode = 'up';
      assert.equal(res.status, 503, mode);
      assert.equal(JSON.parse(res.body).code, 'ERR_ASSERTION_KEYS_UNAVAILABLE', mode);
      assert.match(String(res.headers['retry-after']), /^\d+$/);
      assert.ok(seconds < 5, `${mode}: answered after ${seconds.toFixed(1)} s (the key fetch times out after 3 s)`);
      assert.equal(alb.keyRequests(kid), 1);
      // The failure is remembered briefly: the next request costs the key server nothing.
      assert.equal((await withAssertion(alb.sign(ALICE), '/proxy/x')).status, 503);
      assert.equal(alb.keyRequests(kid), 1);
    }
  });

  it('fetches a new key once for 100 concurrent requests with 100 different assertions', async () => {
    const kid = alb.addKey();
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => withAssertion(alb.sign({ ...ALICE, email: `user${i}@example.test` }), `/proxy/many?i=${i}`)));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    assert.equal(alb.keyRequests(kid), 1);
    const subjects = await Promise.all(upstream.requests.filter((r) => r.url.startsWith('/many?')).map(async (r) => (await upstreamIdentity(gateway.url, r)).sub));
    assert.equal(new Set(subjects).size, 100);
  });

  it('lets Basic credentials decide before the assertion; an Authorization scheme /proxy does not read is left to the assertion', async () => {
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/bob', { password: 'bob-password-12', roles: ['ROLE_USER'] })).status, 201);
    const token = alb.sign(ALICE);
    assert.equal((await get('/proxy/both', { authorization: basicAuth('bob', 'bob-password-12'), 'x-amzn-oidc-data': token })).status, 200);
    assert.deepEqual(await upstreamIdentity(gateway.url, seen('/both')[0]!), { sub: 'bob', authorities: ['ROLE_USER'] });
    assert.equal(seen('/both')[0]!.headers['x-amzn-oidc-data'], undefined);
    assert.equal((await get('/proxy/both', { authorization: basicAuth('bob', 'wrong-password'), 'x-amzn-oidc-data': token })).status, 401, 'a wrong password is not rescued by the assertion');
    // A scheme /proxy does not read (an ID token some proxies add) is no credential there: the assertion decides, and it is not forwarded.
    assert.equal((await get('/proxy/bearer', { authorization: 'Bearer x.y.z', 'x-amzn-oidc-data': token })).status, 200);
    assert.deepEqual(await upstreamIdentity(gateway.url, seen('/bearer')[0]!), { sub: 'alice@example.test', authorities: ['ROLE_ADMIN', 'ROLE_USER'] });
    assert.equal((await get('/proxy/bearer', { authorization: 'Bearer x.y.z' })).status, 401, 'without an assertion it is refused, as before');
  });

  it('ignores (and removes) the assertion of an untrusted peer: the request is anonymous', async () => {
    const valid = alb.sign(ALICE);
    const res = await withAssertion(valid, '/proxy/untrusted', '127.0.0.2');
    assert.equal(res.status, 200);
    const [forwarded] = seen('/untrusted');
    assert.deepEqual(await upstreamIdentity(gateway.url, forwarded!), { sub: 'anonymousUser', authorities: ['ROLE_ANONYMOUS'] });
    assert.equal(forwarded!.headers['x-amzn-oidc-data'], undefined);
    assert.equal(forwarded!.headers['x-forwarded-for'], '127.0.0.2');
    // An invalid one is not even looked at, and the "_" spelling goes too.
    const raw = await rawRequest(gateway.port, `GET /proxy/untrusted2 HTTP/1.1\r\nHost: x\r\nX-Amzn-Oidc-Data: garbage\r\nX_Amzn_Oidc_Data: ${valid}\r\nConnection: close\r\n\r\n`, { localAddress: '127.0.0.2' });
    assert.match(raw, /^HTTP\/1\.1 200 /);
    assert.ok(!Object.keys(seen('/untrusted2')[0]!.headers).some((name) => /amzn/i.test(name)));
  });

  it('neither reads nor requires the assertion on an --auth-exempt path: invalid or unverifiable, the request goes on as anonymous', async () => {
    const invalid = alb.sign(ALICE, { header: { signer: 'arn:aws:elasticloadbalancing:eu-west-1:999999999999:loadbalancer/app/x/1' } });
    const res = await withAssertion(invalid, '/proxy/health/live');
    assert.equal(res.status, 200);
    assert.deepEqual(await upstreamIdentity(gateway.url, seen('/health/live')[0]!), { sub: 'anonymousUser', authorities: ['ROLE_ANONYMOUS'] });
    assert.equal(seen('/health/live')[0]!.headers['x-amzn-oidc-data'], undefined);
    alb.addKey();
    alb.mode = 'error';
    try {
      assert.equal((await withAssertion(alb.sign(ALICE), '/proxy/health')).status, 200, 'a key server outage does not fail the health check');
    } finally {
      alb.mode = 'up';
    }
    for (const path of ['/proxy/healthz', '/proxy/health/../secret', '/proxy/health/%2e%2e/secret', '/proxy/x?/proxy/health/', '/proxy/health/..;/secret', '/proxy/health/..;a/secret', '/proxy/health/%252e%252e/secret', '/proxy/health/.%252e/secret']) {
      assert.equal((await withAssertion(invalid, path)).status, 401, `${path} is not exempt`);
    }
  });
});
