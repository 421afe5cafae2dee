import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidTokenError, UnauthorizedError } from '../../server/errors.js';
import { ANONYMOUS, basicSource, bearerSource, IdentityPipeline, type Identity, type IdentityRequest, type IdentitySource } from '../../server/identity/index.js';

const header = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
const request = (headers: Record<string, string> = {}): IdentityRequest => ({ headers, url: '/proxy/x', method: 'GET', clientAddress: () => '203.0.113.1', peerTrusted: () => false });
const alice: Identity = Object.freeze({ name: 'alice', roles: Object.freeze(['ROLE_USER']), via: 'basic' as const });

const passwords = {
  cached: (h: string) => (h === header('alice:cached') ? alice : undefined),
  verify: async (h: string) => {
    if (h === 'Basic ???') throw new UnauthorizedError('malformed');
    return h === header('alice:pw') || h === header('alice:cached') ? alice : null;
  },
  isCurrent: () => true,
};

/** A source for a made-up cookie, to show the order. */
const cookie: IdentitySource = {
  name: 'cookie',
  readsAuthorization: false,
  present: (req) => String(req.headers.cookie ?? '').includes('s='),
  known: () => undefined,
  identify: async (req) => {
    if (req.headers.cookie !== 's=good') throw new UnauthorizedError('bad session');
    return Object.freeze({ name: 'carol', roles: Object.freeze([]), via: 'session' as const });
  },
};

describe('IdentityPipeline', () => {
  const pipeline = new IdentityPipeline({ sources: [basicSource(passwords), cookie], insecure: false });

  it('no credential: anonymous, without waiting', async () => {
    assert.equal(pipeline.known(request()), ANONYMOUS);
    assert.equal(await pipeline.identify(request()), ANONYMOUS);
  });

  it('the first source whose credential is present decides: Authorization before the cookie', async () => {
    assert.equal((await pipeline.identify(request({ authorization: header('alice:pw'), cookie: 's=good' }))).name, 'alice');
    assert.equal((await pipeline.identify(request({ cookie: 's=good' }))).name, 'carol');
  });

  it('a caller who tried and failed gets 401, never anonymous: bad Basic, a bad cookie, a scheme nobody reads', async () => {
    await assert.rejects(pipeline.identify(request({ authorization: header('alice:wrong') })), { code: 'ERR_UNAUTHORIZED' });
    await assert.rejects(pipeline.identify(request({ authorization: 'Basic ???' })), { code: 'ERR_UNAUTHORIZED' });
    await assert.rejects(pipeline.identify(request({ cookie: 's=forged' })), { code: 'ERR_UNAUTHORIZED' });
    assert.throws(() => pipeline.known(request({ authorization: 'Bearer x.y.z' })), { code: 'ERR_UNAUTHORIZED' }, 'no source of this consumer reads Bearer');
    await assert.rejects(pipeline.identify(request({ authorization: 'Negotiate abc' })), { code: 'ERR_UNAUTHORIZED' });
    await assert.rejects(pipeline.identify(request({ authorization: header('alice:wrong'), cookie: 's=good' })), { code: 'ERR_UNAUTHORIZED' }, 'a bad Authorization is not rescued by a good cookie');
    await assert.rejects(pipeline.identify(request({ authorization: 'Bearer x.y.z', cookie: 's=good' })), { code: 'ERR_UNAUTHORIZED' }, 'nor an unreadable one');
    await assert.rejects(pipeline.identify(request({ authorization: 'Basic\tabc', cookie: 's=good' })), { code: 'ERR_UNAUTHORIZED' });
  });

  it('known() answers without waiting only when the source has it cached', () => {
    assert.equal(pipeline.known(request({ authorization: header('alice:cached') })), alice);
    assert.equal(pipeline.known(request({ authorization: header('alice:pw') })), undefined);
  });

  it('--insecure: everyone is the insecure identity, whatever they send', async () => {
    const insecure = new IdentityPipeline({ sources: [basicSource(passwords)], insecure: true });
    for (const headers of [{}, { authorization: header('alice:wrong') }, { authorization: 'Bearer x' }] as Record<string, string>[]) {
      assert.deepEqual((await insecure.identify(request(headers))).roles, ['ROLE_ADMIN', 'ROLE_ANONYMOUS', 'ROLE_USER']);
    }
  });
});

describe('bearerSource', () => {
  const T = 1_700_000_000; // seconds
  const minted = (name: string, roles: string[], issuedAt: number): Identity => Object.freeze({ name, roles: Object.freeze(roles), via: 'bearer' as const, issuedAt });
  // bob was created at T (ms since epoch), old-timer before jwtgate recorded creation times (0).
  const users = new Map([['bob', { roles: ['ROLE_ADMIN', 'ROLE_USER'], createdAt: T * 1000 }], ['old-timer', { roles: ['ROLE_USER'], createdAt: 0 }]]);
  const source = bearerSource({
    verify: async (token) => {
      if (token === 'bad') throw new InvalidTokenError('bad');
      const [name, roles, iat] = token.split(':');
      return minted(name!, roles!.split(','), Number(iat ?? T));
    },
    users: { get: async (name: string) => users.get(name) ?? null },
    clockSkewSeconds: 30,
  });
  const pipeline = new IdentityPipeline({ sources: [source], insecure: false });
  const bearer = (token: string) => pipeline.identify(request({ authorization: `Bearer ${token}` }));

  it('answers with the user\'s current roles, refuses a deleted user\'s token, keeps anonymous tokens as minted', async () => {
    assert.deepEqual((await bearer('bob:ROLE_USER')).roles, ['ROLE_ADMIN', 'ROLE_USER']);
    await assert.rejects(bearer('gone:ROLE_USER'), { code: 'ERR_INVALID_TOKEN' });
    await assert.rejects(bearer('bad'), { code: 'ERR_INVALID_TOKEN' });
    assert.deepEqual((await bearer('anonymousUser:ROLE_ANONYMOUS')).roles, ['ROLE_ANONYMOUS']);
  });

  it('refuses a token minted before its user was created (an earlier user of that name), allowing --clock-skew and iat\'s rounding', async () => {
    await assert.rejects(bearer(`bob:ROLE_USER:${T - 32}`), { code: 'ERR_INVALID_TOKEN', status: 401, message: /minted before the user "bob" was created/ });
    await assert.rejects(bearer(`bob:ROLE_USER:${T - 3600}`), { code: 'ERR_INVALID_TOKEN' });
    // A minting host 30 s behind the creating one writes iat = T - 30 for a token minted just
    // after the creation (T - 31 when the creation fell late in its second): both accepted.
    assert.equal((await bearer(`bob:ROLE_USER:${T - 31}`)).name, 'bob');
    assert.equal((await bearer(`bob:ROLE_USER:${T - 30}`)).name, 'bob');
    assert.equal((await bearer(`bob:ROLE_USER:${T + 60}`)).name, 'bob');
    assert.equal((await bearer('old-timer:ROLE_USER:1')).name, 'old-timer', 'creation time unknown (a migrated store): as before');
  });

  it('the tolerance is --clock-skew, not a constant', async () => {
    const strict = new IdentityPipeline({ sources: [bearerSource({ verify: async () => minted('bob', [], T - 2), users: { get: async () => users.get('bob')! }, clockSkewSeconds: 0 })], insecure: false });
    await assert.rejects(strict.identify(request({ authorization: 'Bearer x' })), { code: 'ERR_INVALID_TOKEN' });
    const lenient = new IdentityPipeline({ sources: [bearerSource({ verify: async () => minted('bob', [], T - 2), users: { get: async () => users.get('bob')! }, clockSkewSeconds: 1 })], insecure: false });
    assert.equal((await lenient.identify(request({ authorization: 'Bearer x' }))).name, 'bob');
  });
});
