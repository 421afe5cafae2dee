/**
 * The ALB assertion verifier against a local "ALB" (real HTTP key server, real P-256 keys,
 * tokens in the ALB's padded format).
 */
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { assertionToken, createAlbVerifier, DEFAULT_CLAIM_MAPPING, type AlbSettings, type ClaimMapping, type VerifierTuning } from '../../server/identity/assertions/index.js';
import { LocalAlb, paddedSegment, withoutPadding } from '../helpers/local-alb.js';

const mapping: ClaimMapping = { ...DEFAULT_CLAIM_MAPPING, rolesClaim: 'groups', roleMap: new Map([['admins', ['ROLE_ADMIN']]]) };

async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('ALB assertions', () => {
  let alb: LocalAlb;
  before(async () => {
    alb = await LocalAlb.start();
  });
  after(() => alb.close());

  const settings = (over: Partial<AlbSettings> = {}): AlbSettings => ({ keyUrlTemplate: alb.keyUrl, arn: alb.arn, clientId: null, issuer: null, bypassValidation: false, ...over });
  const verifier = (over: Partial<AlbSettings> = {}, tuning: VerifierTuning = {}) => createAlbVerifier(settings(over), mapping, tuning);
  const refused = (reason: string) => ({ code: 'ERR_INVALID_ASSERTION', status: 401, reason });

  /** Runs `check` and returns how many key requests it caused. */
  async function keyRequestsDuring(check: () => Promise<unknown>): Promise<number> {
    const before = alb.keyRequests();
    await check();
    return alb.keyRequests() - before;
  }

  it('accepts a valid assertion, maps its claims, and then answers from the cache synchronously', async () => {
    const v = verifier();
    const token = alb.sign({ sub: 'alice', email: 'alice@example.test', groups: ['admins', 'staff'] });
    assert.match(token, /^[\w-]+={0,2}\.[\w-]+={0,2}\.[\w-]+={0,2}$/);
    assert.equal(v.cached(token), undefined);
    const identity = await v.verify(token);
    assert.deepEqual({ name: identity.name, roles: identity.roles, email: identity.email, source: identity.source }, { name: 'alice', roles: ['ROLE_ADMIN', 'ROLE_USER'], email: 'alice@example.test', source: 'alb' });
    assert.equal(identity.claims['sub'], 'alice');
    assert.equal(v.cached(token), identity);
    assert.equal(v.header, 'x-amzn-oidc-data');
    // The cache finds entries by the token's tail but answers only for the very same token.
    const [header, payload, signature] = token.split('.');
    const forged = `${header}.${paddedSegment({ sub: 'mallory', exp: 9e9 })}.${signature}`;
    assert.equal(forged.slice(-32), token.slice(-32));
    assert.equal(v.cached(forged), undefined);
    assert.equal(v.cached(`${header}.${payload}.${signature}`), identity, 'an equal token built anew is a hit');
    await assert.rejects(v.verify(forged), refused('signature'));
  });

  it('checks the signature over the padded segments as received: a padding-stripped variant is refused before any key fetch', async () => {
    const token = alb.sign({ sub: 'alice' }, { ensurePadding: true });
    assert.notEqual(withoutPadding(token).split('.')[1], token.split('.')[1], 'the payload segment is padded');
    assert.equal(await keyRequestsDuring(() => assert.rejects(verifier().verify(withoutPadding(token)), refused('malformed'))), 0);
  });

  it('refuses a standard unpadded JWT even when the ALB key signed it', async () => {
    await assert.rejects(verifier().verify(alb.sign({ sub: 'alice' }, { unpadded: true, ensurePadding: true })), refused('malformed'));
  });

  it('accepts only the signature spelling the ALB sends (86 characters without unused bits, then "=="), before any key fetch', async () => {
    const token = alb.sign({ sub: 'bob' });
    const [h, p, s] = token.split('.');
    assert.match(s!, /^[\w-]{86}==$/);
    const bytes = Buffer.from(s!, 'base64url');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sameBytes = [...alphabet].map((c) => `${s!.slice(0, 85)}${c}`).filter((v) => v !== s!.slice(0, 86) && Buffer.from(v, 'base64url').equals(bytes));
    assert.equal(sameBytes.length, 15, 'other unused bits in the last character');
    const spellings = [s!.slice(0, 86), `${s!.slice(0, 86)}=`, `${s}=`, ...sameBytes.flatMap((v) => [v, `${v}==`])];
    const v = verifier();
    const made = await keyRequestsDuring(async () => {
      for (const spelling of spellings) await assert.rejects(v.verify(`${h}.${p}.${spelling}`), refused('malformed'), spelling);
    });
    assert.equal(made, 0);
    assert.equal((await v.verify(token)).name, 'bob');
  });

  it('accepts the ECDSA twin (r, n - s) of a valid signature (the ALB signs with high and low s alike), answered from the cache without an entry or check of its own', async () => {
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const twinOf = (token: string) => {
      const [h, p, s] = token.split('.');
      const sig = Buffer.from(s!, 'base64url');
      const twinS = (n - BigInt(`0x${sig.subarray(32).toString('hex')}`)).toString(16).padStart(64, '0');
      return `${h}.${p}.${paddedSegment(Buffer.concat([sig.subarray(0, 32), Buffer.from(twinS, 'hex')]))}`;
    };
    const token = alb.sign({ sub: 'carol' });
    const twin = twinOf(token);
    assert.notEqual(twin, token);
    assert.equal((await verifier().verify(twin)).name, 'carol', 'the twin alone is a valid signature');
    const v = verifier();
    const identity = await v.verify(token);
    assert.equal(v.cached(twin), undefined, 'no entry of its own');
    assert.equal(await v.verify(twin), identity, 'the cached result of the token, not a new check');
    assert.equal(v.cached(twin), undefined);
    const forged = `${token.split('.').slice(0, 2).join('.')}.${paddedSegment(Buffer.alloc(64, 7))}`;
    await assert.rejects(v.verify(twinOf(forged)), refused('signature'), 'the twin of a bad signature is just as bad');
  });

  it('refuses a payload whose nbf is ahead of the clock beyond the leeway', async () => {
    const now = Math.floor(Date.now() / 1000);
    await assert.rejects(verifier().verify(alb.sign({ sub: 'alice', nbf: now + 86_400 })), refused('not-yet-valid'));
    await assert.rejects(verifier().verify(alb.sign({ sub: 'alice', nbf: now + 60 })), refused('not-yet-valid'));
    assert.equal((await verifier().verify(alb.sign({ sub: 'alice', nbf: now + 20 }))).name, 'alice', 'within the 30 s leeway');
    assert.equal((await verifier().verify(alb.sign({ sub: 'alice', nbf: now - 5 }))).name, 'alice');
    await assert.rejects(verifier().verify(alb.sign({ sub: 'alice', nbf: 'soon' })), refused('malformed'));
    const bypass = verifier({ bypassValidation: true, arn: null, keyUrlTemplate: null });
    await assert.rejects(bypass.verify(`${paddedSegment({ alg: 'none' })}.${paddedSegment({ sub: 'dev', nbf: now + 3600 })}.`), refused('not-yet-valid'));
  });

  it('keeps a token past its exp but inside the leeway in the cache until the leeway ends (no signature check per request)', async () => {
    const signedAt = Date.now();
    let now = signedAt + 70_000;
    const token = alb.sign({ sub: 'alice' }, { ttlSeconds: 60, now: signedAt });
    const v = verifier({}, { now: () => now, clockToleranceSeconds: 30 });
    const identity = await v.verify(token);
    assert.equal(v.cached(token), identity, 'expired 10 s ago, still accepted: answered from the cache');
    now = signedAt + 89_000;
    assert.equal(v.cached(token), identity);
    now = signedAt + 91_000;
    assert.equal(v.cached(token), undefined);
    await assert.rejects(v.verify(token), refused('expired'));
  });

  it('refuses a token signed by another ALB (signer ARN), without fetching its key', async () => {
    const other = 'arn:aws:elasticloadbalancing:eu-west-1:999999999999:loadbalancer/app/attacker/0123456789abcdef';
    const token = alb.sign({ sub: 'alice' }, { header: { signer: other } });
    assert.equal(await keyRequestsDuring(() => assert.rejects(verifier().verify(token), refused('signer'))), 0);
    await assert.rejects(verifier().verify(alb.sign({ sub: 'alice' }, { header: { signer: undefined } })), refused('signer'));
  });

  it('refuses alg none, HS256 keyed with the public PEM, and ES384, whatever the signature', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const header = (alg: string) => paddedSegment({ typ: 'JWT', kid: alb.kid, alg, iss: alb.issuer, client: alb.clientId, signer: alb.arn, exp });
    const payload = paddedSegment({ sub: 'mallory', exp });
    const none = `${header('none')}.${payload}.`;
    const hsInput = `${header('HS256')}.${payload}`;
    const hs256 = `${hsInput}.${paddedSegment(createHmac('sha256', alb.publicPem()).update(hsInput).digest())}`;
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    const esInput = `${header('ES384')}.${payload}`;
    const es384 = `${esInput}.${paddedSegment(sign('sha384', Buffer.from(esInput), { key: p384, dsaEncoding: 'ieee-p1363' }))}`;
    for (const token of [none, hs256, es384]) await assert.rejects(verifier().verify(token), refused('algorithm'));
  });

  it('refuses an expired assertion (injected clock), allowing the configured leeway', async () => {
    const signedAt = Date.now();
    const token = alb.sign({ sub: 'alice' }, { ttlSeconds: 60, now: signedAt });
    const at = (ms: number) => verifier({}, { now: () => signedAt + ms, clockToleranceSeconds: 30 });
    assert.equal((await at(60_000 + 20_000).verify(token)).name, 'alice');
    await assert.rejects(at(60_000 + 31_000).verify(token), refused('expired'));
    const payloadExpired = alb.sign({ sub: 'alice', exp: Math.floor(signedAt / 1000) - 3600 });
    await assert.rejects(verifier().verify(payloadExpired), refused('expired'));
  });

  it('expires a cached assertion with the token', async () => {
    let now = Date.now();
    const v = verifier({}, { now: () => now, clockToleranceSeconds: 0 });
    const token = alb.sign({ sub: 'alice' }, { ttlSeconds: 60, now });
    await v.verify(token);
    assert.ok(v.cached(token));
    now += 61_000;
    assert.equal(v.cached(token), undefined);
    await assert.rejects(v.verify(token), refused('expired'));
  });

  it('refuses an unknown kid (key server 404), remembers it briefly, and asks again later', async () => {
    let now = Date.now();
    const v = verifier({}, { now: () => now, clockToleranceSeconds: 3600, keys: { failureTtlMs: 5000 } });
    const kid = '0b7f3b8e-4f6c-4d1e-9a52-1f0c7d2e9a11';
    const token = alb.sign({ sub: 'alice' }, { kid, ttlSeconds: 600 });
    await assert.rejects(v.verify(token), refused('unknown-kid'));
    await assert.rejects(v.verify(alb.sign({ sub: 'bob' }, { kid, ttlSeconds: 600 })), refused('unknown-kid'));
    assert.equal(alb.keyRequests(kid), 1);
    now += 6000;
    await assert.rejects(v.verify(token), refused('unknown-kid'));
    assert.equal(alb.keyRequests(kid), 2);
  });

  it('never puts a kid that is not a UUID into a URL (../, @host, encoded)', async () => {
    const kids = [`../keys/${alb.kid}`, `${alb.kid}/../../x`, `@evil.example/${alb.kid}`, `${alb.kid}@evil.example`, `%2e%2e%2f${alb.kid}`, `${alb.kid}?x=1`, ''];
    const made = await keyRequestsDuring(async () => {
      for (const kid of kids) await assert.rejects(verifier().verify(alb.sign({ sub: 'alice' }, { kid, header: { kid } })), refused('kid'));
    });
    assert.equal(made, 0);
  });

  it('refuses a tampered payload, and checks client and issuer when configured', async () => {
    const [h, , s] = alb.sign({ sub: 'alice' }).split('.');
    await assert.rejects(verifier().verify(`${h}.${paddedSegment({ sub: 'admin', exp: Math.floor(Date.now() / 1000) + 60 })}.${s}`), refused('signature'));
    const token = alb.sign({ sub: 'alice' });
    await assert.rejects(verifier({ clientId: 'another-client' }).verify(token), refused('client'));
    await assert.rejects(verifier({ issuer: 'https://other.example' }).verify(token), refused('issuer'));
    assert.equal((await verifier({ clientId: alb.clientId, issuer: alb.issuer }).verify(token)).name, 'alice');
  });

  it('refuses malformed input without fetching anything', async () => {
    const bad = ['', 'abc', 'a.b', 'a.b.c.d', `${'A'.repeat(20_000)}.e30=.e30=`, 'W10=.e30=.AAAA', 'e30=.W10=.AAAA', '!!!!.e30=.AAAA'];
    const made = await keyRequestsDuring(async () => {
      for (const token of bad) await assert.rejects(verifier().verify(token), { code: 'ERR_INVALID_ASSERTION' });
    });
    assert.equal(made, 0);
  });

  it('gives a 503 with a stable code when the key server is down, and remembers the failure briefly', async () => {
    const v = verifier({ keyUrlTemplate: `http://127.0.0.1:${await closedPort()}/keys/{kid}` }, { keys: { failureTtlMs: 60_000 } });
    const unavailable = { code: 'ERR_ASSERTION_KEYS_UNAVAILABLE', status: 503 };
    await assert.rejects(v.verify(alb.sign({ sub: 'alice' })), (err: { code: string; status: number; headers: Record<string, string> }) => {
      assert.equal(err.code, unavailable.code);
      assert.equal(err.status, 503);
      assert.equal(err.headers['retry-after'], '60');
      return true;
    });
    const started = performance.now();
    await assert.rejects(v.verify(alb.sign({ sub: 'bob' })), unavailable);
    assert.ok(performance.now() - started < 50, 'the remembered failure answers at once');
  });

  it('gives a 503 within the timeout when the key server is slow, and when it answers 500', async () => {
    const v = verifier({}, { keys: { timeoutMs: 300 } });
    alb.addKey();
    alb.mode = 'slow';
    try {
      const started = performance.now();
      await assert.rejects(v.verify(alb.sign({ sub: 'alice' })), { code: 'ERR_ASSERTION_KEYS_UNAVAILABLE', status: 503 });
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 2000, `bounded by the timeout: ${elapsed} ms`);
      alb.addKey();
      alb.mode = 'error';
      await assert.rejects(v.verify(alb.sign({ sub: 'alice' })), { code: 'ERR_ASSERTION_KEYS_UNAVAILABLE', status: 503 });
    } finally {
      alb.mode = 'up';
    }
  });

  it('gives a 503 when the key server answers something that is not a P-256 key', async () => {
    const kid = '5a1e0c3d-2b4f-4e6a-8c9d-0e1f2a3b4c5d';
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    for (const [i, body] of ['not a key', p384].entries()) {
      const thisKid = kid.slice(0, -1) + i;
      alb.publishRaw(thisKid, body);
      await assert.rejects(verifier().verify(alb.sign({ sub: 'alice' }, { kid: thisKid })), { code: 'ERR_ASSERTION_KEYS_UNAVAILABLE' });
    }
  });

  it('fetches the key once for 100 concurrent verifications, and verifies one token once', async () => {
    const kid = alb.addKey();
    const v = verifier();
    const tokens = Array.from({ length: 100 }, (_, i) => alb.sign({ sub: `user${i}` }));
    const identities = await Promise.all(tokens.map((t) => v.verify(t)));
    assert.deepEqual(identities.map((i) => i.name), tokens.map((_, i) => `user${i}`));
    assert.equal(alb.keyRequests(kid), 1);
    const same = alb.sign({ sub: 'carol' });
    const results = await Promise.all(Array.from({ length: 100 }, () => v.verify(same)));
    assert.ok(results.every((r) => r === results[0]), 'one verification shared by all');
  });

  it('with --alb-bypass-validation, believes an unsigned token (padded or not) but still checks exp', async () => {
    const v = verifier({ bypassValidation: true, arn: null, keyUrlTemplate: null });
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'dev-user', groups: 'admins' })).toString('base64url')}.`;
    assert.deepEqual((await v.verify(unsigned)).roles, ['ROLE_ADMIN', 'ROLE_USER']);
    const expired = `${paddedSegment({ alg: 'none' })}.${paddedSegment({ sub: 'dev-user', exp: 1 })}.`;
    await assert.rejects(v.verify(expired), refused('expired'));
    assert.equal(alb.keyRequests('never'), 0);
  });
});

describe('assertionToken', () => {
  it('reads the token, removes a Bearer prefix, and refuses a repeated header', () => {
    assert.equal(assertionToken(undefined), undefined);
    assert.equal(assertionToken('  '), undefined);
    assert.equal(assertionToken(' a.b.c '), 'a.b.c');
    assert.equal(assertionToken('Bearer a.b.c'), 'a.b.c');
    assert.equal(assertionToken(['a.b.c']), 'a.b.c');
    assert.throws(() => assertionToken(['a.b.c', 'd.e.f']), { code: 'ERR_INVALID_ASSERTION', reason: 'duplicate' });
    assert.throws(() => assertionToken('a.b.c, d.e.f'), { code: 'ERR_INVALID_ASSERTION', reason: 'duplicate' });
  });
});
