/**
 * proxy-target-examples/ verify real tokens from a real gateway: each example runs the Atoti
 * scenario through /proxy, and refuses forged tokens sent to it directly.
 */
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { runCli, tempDir } from '../helpers/process.js';
import { pythonWithJwt, startExample, type ExampleName } from '../helpers/upstream.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const HATTER = basicAuth('Hatter', 'tea-party-password');

function forgedTokens(kid: string, pem: string): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  const claims = b64({ sub: 'mallory', authorities: ['ROLE_ADMIN', 'ROLE_USER'], iss: 'jwtgate', iat: now, exp: now + 60 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const rs512 = (header: unknown) => {
    const input = `${b64(header)}.${claims}`;
    return `${input}.${sign('sha512', Buffer.from(input), other).toString('base64url')}`;
  };
  const hsInput = `${b64({ alg: 'HS512', typ: 'JWT', kid })}.${claims}`;
  return {
    'alg none': `${b64({ alg: 'none', typ: 'JWT', kid })}.${claims}.`,
    'HS512 keyed with the public key': `${hsInput}.${createHmac('sha512', pem).update(hsInput).digest('base64url')}`,
    'RS512 by another key, known kid': rs512({ alg: 'RS512', typ: 'JWT', kid }),
    'RS512 by another key, unknown kid': rs512({ alg: 'RS512', typ: 'JWT', kid: 'unknown' }),
  };
}

describe('proxy-target examples verify real tokens', () => {
  let gateway: TestGateway;
  let pemFile: string;
  let pem: string;
  let kid: string;

  before(async () => {
    gateway = await startGateway();
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/Hatter', { password: 'tea-party-password', roles: ['ROLE_USER', 'ROLE_WONDERLAND'] })).status, 201);
    const exported = await runCli(['keys', 'export', '--format', 'pem', '--data-dir', gateway.dataDir]);
    assert.equal(exported.code, 0, exported.stderr);
    pem = exported.stdout;
    pemFile = path.join(tempDir(), 'gateway.pem');
    fs.writeFileSync(pemFile, pem);
    kid = (((await (await fetch(`${gateway.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys[0]!).kid;
  });
  after(() => gateway?.stop());

  const python = pythonWithJwt();
  const variants: Array<{ name: ExampleName; label: string; env: () => Record<string, string>; skip?: string }> = [
    { name: 'node-zero-deps', label: 'node-zero-deps (PEM)', env: () => ({ PUBLIC_KEY_FILE: pemFile }) },
    { name: 'node-zero-deps', label: 'node-zero-deps (JWKS)', env: () => ({ JWKS_URL: `${gateway.url}/.well-known/jwks.json` }) },
    { name: 'node-jose', label: 'node-jose (JWKS)', env: () => ({ JWKS_URL: `${gateway.url}/.well-known/jwks.json`, JWT_ISSUER: 'jwtgate' }) },
    ...(['PEM', 'JWKS'] as const).map((mode) => ({
      name: 'python' as const,
      label: `python + PyJWT (${mode})`,
      env: (): Record<string, string> => (mode === 'PEM' ? { PUBLIC_KEY_FILE: pemFile } : { JWKS_URL: `${gateway.url}/.well-known/jwks.json` }),
      ...(python ? {} : { skip: 'SKIPPED: no python3 with the jwt module (Debian: apt-get install python3-jwt; .ci/run installs it)' }),
    })),
  ];

  for (const variant of variants) {
    it(variant.label, variant.skip ? { skip: variant.skip } : {}, async () => {
      const upstream = await startExample(variant.name, variant.env());
      try {
        assert.equal((await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url })).status, 200);
        const call = (p: string, auth?: string, init: RequestInit = {}) => fetch(`${gateway.url}/proxy${p}`, { ...init, headers: { ...(auth ? { authorization: auth } : {}) } });

        assert.deepEqual(await (await call('/whoami?mode=jwt')).json(), { name: 'anonymousUser', roles: ['ROLE_ANONYMOUS'] });
        assert.equal((await call('/whoami?mode=session')).status, 403);
        for (const mode of ['jwt', 'session']) {
          const res = await call(`/whoami?mode=${mode}`, HATTER);
          assert.equal(res.status, 200, mode);
          assert.deepEqual(await res.json(), { name: 'Hatter', roles: ['ROLE_USER', 'ROLE_WONDERLAND'] });
        }
        assert.equal((await call('/whoami?mode=invalid')).status, 400);
        assert.equal((await call('')).status, 404);
        const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
        const echo = await call('', undefined, { method: 'POST', body: bytes });
        assert.equal(echo.status, 200);
        assert.equal(echo.headers.get('x-custom-header'), 'lorem ipsum');
        assert.equal(Number(echo.headers.get('content-length')), bytes.length);
        assert.ok(Buffer.from(await echo.arrayBuffer()).equals(bytes));
        if (variant.name === 'node-jose') {
          assert.equal((await call('/reports')).status, 403, 'ROLE_USER required');
          assert.equal((await call('/reports', HATTER)).status, 200);
        }

        // Straight to the upstream, bypassing the gateway: forged tokens are refused.
        for (const [what, token] of Object.entries(forgedTokens(kid, pem))) {
          const res = await fetch(`${upstream.url}/whoami?mode=jwt`, { headers: { authorization: `Bearer ${token}` } });
          assert.equal(res.status, 401, `${variant.label}: ${what}`);
        }
      } finally {
        await upstream.stop();
      }
    });
  }
});
