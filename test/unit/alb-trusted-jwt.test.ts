/**
 * The trusted-JWT verifier (oauth2-proxy, Pomerium, Cloudflare Access) against a local JWKS
 * server, with tokens signed by jose.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTrustedJwtVerifier, DEFAULT_CLAIM_MAPPING, type TrustedJwtSettings, type VerifierTuning } from '../../server/identity/assertions/index.js';
import { LocalJwks } from '../helpers/local-alb.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const refused = (reason: string) => ({ code: 'ERR_INVALID_ASSERTION', status: 401, reason });
const unavailable = { code: 'ERR_ASSERTION_KEYS_UNAVAILABLE', status: 503 };

describe('trusted JWT assertions', () => {
  let jwks: LocalJwks;
  before(async () => {
    jwks = await LocalJwks.start({ algorithms: ['RS256', 'ES256', 'RS512'] });
  });
  after(() => jwks.close());

  const settings = (over: Partial<TrustedJwtSettings> = {}): TrustedJwtSettings => ({
    header: 'x-pomerium-jwt-assertion',
    jwksUrl: new URL(jwks.url),
    algorithms: ['RS256', 'ES256'],
    issuer: jwks.issuer,
    audience: [jwks.audience],
    ...over,
  });
  const verifier = (over: Partial<TrustedJwtSettings> = {}, tuning: VerifierTuning = {}) =>
    createTrustedJwtVerifier(settings(over), { ...DEFAULT_CLAIM_MAPPING, usernameClaim: 'email', rolesClaim: 'groups' }, tuning);

  it('accepts RS256 and ES256 tokens from the configured issuer for the configured audience', async () => {
    const v = verifier();
    for (const alg of ['RS256', 'ES256'] as const) {
      const token = await jwks.sign({ sub: 'u1', email: 'alice@example.test', groups: 'ROLE_REPORTS, ROLE_X' }, { alg });
      const identity = await v.verify(token);
      assert.deepEqual([identity.name, identity.roles, identity.source], ['alice@example.test', ['ROLE_REPORTS', 'ROLE_USER', 'ROLE_X'], 'trusted-jwt']);
      assert.equal(v.cached(token), identity);
    }
    assert.equal(v.header, 'x-pomerium-jwt-assertion');
  });

  it('accepts an aud array containing the audience (Cloudflare Access), and any audience when none is configured', async () => {
    const token = await jwks.sign({ email: 'bob@example.test' }, { audience: ['other', jwks.audience] });
    assert.equal((await verifier().verify(token)).name, 'bob@example.test');
    const noAud = await jwks.sign({ email: 'bob@example.test' }, { audience: null });
    assert.equal((await verifier({ audience: null }).verify(noAud)).name, 'bob@example.test');
  });

  it('refuses a wrong issuer and a wrong or missing audience', async () => {
    await assert.rejects(verifier().verify(await jwks.sign({ email: 'a@x' }, { issuer: 'https://evil.example' })), refused('issuer'));
    await assert.rejects(verifier().verify(await jwks.sign({ email: 'a@x' }, { issuer: null })), refused('issuer'));
    await assert.rejects(verifier().verify(await jwks.sign({ email: 'a@x' }, { audience: 'another-app' })), refused('audience'));
    await assert.rejects(verifier().verify(await jwks.sign({ email: 'a@x' }, { audience: null })), refused('audience'));
  });

  it('refuses an algorithm outside the allow-list, even with a published key', async () => {
    const token = await jwks.sign({ email: 'a@x' }, { alg: 'RS512' });
    await assert.rejects(verifier().verify(token), refused('algorithm'));
    assert.equal((await verifier({ algorithms: ['RS512'] }).verify(token)).name, 'a@x');
    await assert.rejects(verifier({ algorithms: ['ES256'] }).verify(await jwks.sign({ email: 'a@x' }, { alg: 'RS256' })), refused('algorithm'));
  });

  it('refuses alg none and HS256 keyed with the public key', async () => {
    const claims = { email: 'mallory@x', iss: jwks.issuer, aud: jwks.audience, exp: Math.floor(Date.now() / 1000) + 60 };
    const kid = jwks.jwk('RS256').kid;
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${b64(claims)}`;
    const hs256 = `${input}.${createHmac('sha256', JSON.stringify(jwks.jwk('RS256'))).update(input).digest('base64url')}`;
    for (const token of [none, hs256]) await assert.rejects(verifier({ algorithms: ['RS256', 'ES256'] }).verify(token), { code: 'ERR_INVALID_ASSERTION' });
    await assert.rejects(verifier().verify(hs256), refused('algorithm'));
  });

  it('refuses an expired token (injected clock), a token without exp, a tampered one, and an unknown kid', async () => {
    const signedAt = Date.now();
    const token = await jwks.sign({ email: 'a@x' }, { ttlSeconds: 60, now: signedAt });
    await assert.rejects(verifier({}, { now: () => signedAt + 120_000, clockToleranceSeconds: 30 }).verify(token), refused('expired'));
    assert.equal((await verifier({}, { now: () => signedAt + 80_000, clockToleranceSeconds: 30 }).verify(token)).name, 'a@x');
    await assert.rejects(verifier().verify(await jwks.sign({ email: 'a@x' }, { ttlSeconds: null })), refused('malformed'));
    const [h, , s] = token.split('.');
    await assert.rejects(verifier().verify(`${h}.${b64({ email: 'admin@x', iss: jwks.issuer, aud: jwks.audience, exp: 2e9 })}.${s}`), refused('signature'));
    const other = await LocalJwks.start({ algorithms: ['RS256'], issuer: jwks.issuer, audience: jwks.audience });
    try {
      await assert.rejects(verifier().verify(await other.sign({ email: 'a@x' })), refused('unknown-kid'));
      await assert.rejects(verifier({ jwksUrl: new URL(other.url) }).verify(await other.sign({ email: 'a@x' }, { ttlSeconds: -600 })), refused('expired'));
    } finally {
      await other.close();
    }
  });

  it('fetches the JWKS once for 100 concurrent verifications', async () => {
    const v = verifier();
    const before = jwks.requests;
    const tokens = await Promise.all(Array.from({ length: 100 }, (_, i) => jwks.sign({ email: `user${i}@x` }, { alg: i % 2 ? 'RS256' : 'ES256' })));
    const identities = await Promise.all(tokens.map((t) => v.verify(t)));
    assert.equal(identities[99]!.name, 'user99@x');
    assert.equal(jwks.requests - before, 1);
  });

  it('gives a 503 within the timeout when the JWKS server is slow or failing, and remembers the failure briefly', async () => {
    const token = await jwks.sign({ email: 'a@x' });
    jwks.mode = 'slow';
    try {
      const v = verifier({}, { jwks: { timeoutMs: 300, failureTtlMs: 60_000 } });
      const started = performance.now();
      await assert.rejects(v.verify(token), unavailable);
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 2000, `bounded by the timeout: ${elapsed} ms`);
      const requests = jwks.requests;
      const again = performance.now();
      await assert.rejects(v.verify(await jwks.sign({ email: 'b@x' })), unavailable);
      assert.ok(performance.now() - again < 100, 'answered from the remembered failure');
      assert.equal(jwks.requests, requests);
      jwks.mode = 'error';
      await assert.rejects(verifier().verify(token), unavailable);
    } finally {
      jwks.mode = 'up';
    }
    assert.equal((await verifier().verify(token)).name, 'a@x');
  });

  it('gives a 503 when the JWKS server cannot be reached', async () => {
    const gone = await LocalJwks.start({ algorithms: ['RS256'] });
    const url = new URL(gone.url);
    await gone.close();
    await assert.rejects(verifier({ jwksUrl: url }).verify(await jwks.sign({ email: 'a@x' })), unavailable);
  });
});
