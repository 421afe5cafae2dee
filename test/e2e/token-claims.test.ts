/**
 * The claims every minted token carries (docs/tokens.md), checked by an independent verifier:
 * PyJWT (Debian's python3-jwt) with require=["exp", "iat", "nbf", "jti", "sub"], the issuer
 * pinned to --public-url, RS512 pinned, against the gateway's JWKS.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { adminJson, basicAuth, startGateway } from '../helpers/gateway.js';
import { startRecorder } from '../helpers/recorder.js';
import { pythonWithJwt } from '../helpers/upstream.js';

const PUBLIC_URL = 'https://gw.example.test:8443';

const PYJWT_CHECK = `
import json, sys
import jwt
jwks, issuer, tokens = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3:]
keys = {k["kid"]: jwt.PyJWK(k).key for k in jwks["keys"]}
out = []
for token in tokens:
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, keys[header["kid"]], algorithms=["RS512"], issuer=issuer,
                        options={"require": ["exp", "iat", "nbf", "jti", "sub"]})
    out.append({"header": header, "claims": claims})
print(json.dumps(out))
`;

interface Checked {
  header: Record<string, unknown>;
  claims: { sub: string; authorities: unknown; iss: string; iat: number; nbf: number; exp: number; jti: string; aud?: unknown };
}

const python = pythonWithJwt();

describe('token claims', () => {
  it('PyJWT verifies every token with exp, iat, nbf, jti and sub required, typ JWT, iss = --public-url, authorities always an array', python ? {} : { skip: 'SKIPPED: no python3 with the jwt module (Debian: apt-get install python3-jwt)' }, async () => {
    const gateway = await startGateway({ args: ['--public-url', PUBLIC_URL] });
    const upstream = await startRecorder();
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
      await adminJson(gateway, 'PUT', '/admin/users/alice', { password: 'alice-password', roles: ['ROLE_USER', 'ROLE_A'] });
      await adminJson(gateway, 'PUT', '/admin/users/noroles', { password: 'noroles-password', roles: [] });
      const tokens: string[] = [];
      for (const auth of [basicAuth('alice', 'alice-password'), basicAuth('noroles', 'noroles-password'), undefined]) {
        assert.equal((await fetch(`${gateway.url}/proxy/`, { headers: auth ? { authorization: auth } : {} })).status, 200);
        tokens.push(String(upstream.requests.at(-1)!.headers.authorization).replace('Bearer ', ''));
      }
      const jwks = await (await fetch(`${gateway.url}/.well-known/jwks.json`)).text();
      const checked = JSON.parse(execFileSync(python!, ['-c', PYJWT_CHECK, jwks, PUBLIC_URL, ...tokens], { encoding: 'utf8' })) as Checked[];
      assert.equal(checked.length, 3);
      for (const { header, claims } of checked) {
        assert.deepEqual(Object.keys(header).sort(), ['alg', 'kid', 'typ']);
        assert.deepEqual([header['alg'], header['typ']], ['RS512', 'JWT']);
        assert.deepEqual(Object.keys(claims).sort(), ['authorities', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sub']);
        assert.equal(claims.iss, PUBLIC_URL);
        assert.equal(claims.nbf, claims.iat - 30, 'nbf 30 s before iat (--clock-skew)');
        assert.equal(claims.exp, claims.iat + 300);
        assert.ok(Array.isArray(claims.authorities));
      }
      assert.deepEqual(checked.map((c) => [c.claims.sub, c.claims.authorities]), [['alice', ['ROLE_A', 'ROLE_USER']], ['noroles', []], ['anonymousUser', ['ROLE_ANONYMOUS']]]);
      assert.equal(new Set(checked.map((c) => c.claims.jti)).size, 3, 'a jti per token');
      // The gateway's own verification on /api expects the same issuer.
      assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: `Bearer ${tokens[0]}` } })).status, 200);
      // And PyJWT refuses a token whose required claims are missing: the check above is not vacuous.
      const [h] = tokens[0]!.split('.');
      const stripped = `${h}.${Buffer.from(JSON.stringify({ sub: 'x', exp: 9_999_999_999, iat: 1 })).toString('base64url')}.AAAA`;
      assert.throws(() => execFileSync(python!, ['-c', PYJWT_CHECK, jwks, PUBLIC_URL, stripped], { stdio: 'pipe' }));
    } finally {
      await upstream.close();
      await gateway.stop();
    }
  });
});
