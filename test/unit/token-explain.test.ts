/** `jwtgate token verify`'s reasons: for each way verifyToken refuses a token, the claim or field, its value and what was expected. */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { it } from 'node:test';
import { SignJWT } from 'jose';
import { explainRefusal } from '../../server/commands/token-explain.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const published: ReadonlyMap<string, KeyObject> = new Map([['k1', publicKey]]);
const now = Date.UTC(2026, 10, 25, 18, 0, 0);
const nowS = now / 1000;
const expect = { issuer: 'jwtgate', audience: null, now, clockToleranceSeconds: 5 };

async function token(claims: Record<string, unknown>, options: { kid?: string; key?: KeyObject } = {}): Promise<string> {
  return new SignJWT({ sub: 'Alice', authorities: ['ROLE_USER'], iss: 'jwtgate', iat: nowS - 10, exp: nowS + 290, ...claims })
    .setProtectedHeader({ alg: 'RS512', typ: 'JWT', kid: options.kid ?? 'k1' })
    .sign(options.key ?? privateKey);
}

it('finds nothing to say about a valid token', async () => {
  assert.deepEqual(explainRefusal(await token({}), published, expect), []);
});

it('names the claim, its value and what was expected', async () => {
  assert.deepEqual(explainRefusal(await token({ exp: nowS - 65 }), published, expect), ['exp: the token expired at 2026-11-25T17:58:55Z, 65 s ago']);
  assert.deepEqual(explainRefusal(await token({ exp: nowS - 3 }), published, expect), [], 'within the 5 s clock tolerance');
  assert.deepEqual(explainRefusal(await token({ iat: nowS + 600 }), published, expect), ['iat: the token says it was issued at 2026-11-25T18:10:00Z, 600 s in the future']);
  assert.deepEqual(explainRefusal(await token({ iat: nowS - 90_000 }), published, expect), ['iat: the token was issued at 2026-11-24T17:00:00Z, more than 24 h ago']);
  assert.deepEqual(explainRefusal(await token({ iss: 'elsewhere' }), published, expect), ['iss is "elsewhere", expected "jwtgate" (--issuer)']);
  assert.deepEqual(explainRefusal(await token({ aud: 'a' }), published, { ...expect, audience: 'b' }), ['aud is "a", expected "b" (--audience)']);
  assert.deepEqual(explainRefusal(await token({ aud: ['a', 'b'] }), published, { ...expect, audience: 'b' }), []);
  assert.deepEqual(explainRefusal(await token({ sub: undefined, authorities: 'ROLE_USER' }), published, expect), ['sub is missing: a user name is required', 'authorities is "ROLE_USER": an array of role names is required']);
  assert.deepEqual(explainRefusal(await token({ exp: undefined }), published, expect), ['exp is missing: a number (seconds since 1970) is required']);
});

it('names the header field or the signature before any claim', async () => {
  assert.deepEqual(explainRefusal('not-a-jwt', published, expect), ['not a JWT: expected three base64url parts separated by dots, the first two JSON objects']);
  const [, payload, signature] = (await token({})).split('.');
  const hs = Buffer.from(JSON.stringify({ alg: 'HS512', kid: 'k1' })).toString('base64url');
  assert.deepEqual(explainRefusal(`${hs}.${payload}.${signature}`, published, expect), ['the header\'s alg is "HS512": only RS512 is accepted']);
  assert.deepEqual(explainRefusal(await token({}, { kid: 'k9' }), published, expect), ['the header\'s kid "k9" is not a key this store publishes (k1)']);
  assert.deepEqual(explainRefusal(await token({ exp: nowS - 100 }, { key: other.privateKey }), published, expect), ['the signature does not match the published key k1: the token was changed after signing, or signed by another key']);
});

it('names an nbf in the future beyond the clock skew', async () => {
  assert.deepEqual(explainRefusal(await token({ nbf: nowS + 65 }), published, expect), ['nbf: the token is not valid before 2026-11-25T18:01:05Z, 65 s from now (--clock-skew 5 s)']);
  assert.deepEqual(explainRefusal(await token({ nbf: nowS + 4 }), published, expect), []);
});
