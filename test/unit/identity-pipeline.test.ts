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
  const minted = (name: string, roles: string[]): Identity => Object.freeze({ name, roles: Object.freeze(roles), via: 'bearer' as const });
  const users = new Map([['bob', { roles: ['ROLE_ADMIN', 'ROLE_USER'] }]]);
  const source = bearerSource({
    verify: async (token) => {
      if (token === 'bad') throw new InvalidTokenError('bad');
      const [name, roles] = token.split(':');
      return minted(name!, roles!.split(','));
    },
    users: { get: async (name: string) => users.get(name) ?? null },
  });
  const pipeline = new IdentityPipeline({ sources: [source], insecure: false });

  it('answers with the user\'s current roles, refuses a deleted user\'s token, keeps anonymous tokens as minted', async () => {
    assert.deepEqual((await pipeline.identify(request({ authorization: 'Bearer bob:ROLE_USER' }))).roles, ['ROLE_ADMIN', 'ROLE_USER']);
    await assert.rejects(pipeline.identify(request({ authorization: 'Bearer gone:ROLE_USER' })), { code: 'ERR_INVALID_TOKEN' });
    await assert.rejects(pipeline.identify(request({ authorization: 'Bearer bad' })), { code: 'ERR_INVALID_TOKEN' });
    assert.deepEqual((await pipeline.identify(request({ authorization: 'Bearer anonymousUser:ROLE_ANONYMOUS' }))).roles, ['ROLE_ANONYMOUS']);
  });
});
