/**
 * Key rotation under load: `jwtgate keys rotate` runs in another process while requests stream
 * through the gateway. The upstream verifies every token against the JWKS it fetched, honouring
 * Cache-Control max-age and never refetching on an unknown kid (the strictest client): a single
 * token signed before its key was published would fail here.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { adminJson, basicAuth, startGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function publishedKids(url: string): Promise<string[]> {
  return (((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as JSONWebKeySet).keys.map((k) => k.kid!));
}

describe('key rotation under load', () => {
  it('no request fails, every token verifies, the new kid signs, the old one is published until notAfter then gone', async () => {
    const gateway = await startGateway({ args: ['--jwks-max-age', '1', '--poll-interval', '200'] });
    let jwks: { set: ReturnType<typeof createLocalJWKSet>; expires: number; kids: string[] } | undefined;
    let jwksFetches = 0;
    const verified = new Map<string, number>();
    const failures: string[] = [];
    const upstream = http.createServer(async (req, res) => {
      try {
        if (!jwks || Date.now() >= jwks.expires) {
          const response = await fetch(`${gateway.url}/.well-known/jwks.json`);
          const maxAge = Number(/max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1] ?? 0);
          const body = (await response.json()) as JSONWebKeySet;
          jwks = { set: createLocalJWKSet(body), expires: Date.now() + maxAge * 1000, kids: body.keys.map((k) => k.kid!) };
          jwksFetches++;
        }
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        await jwtVerify(token, jwks.set, { algorithms: ['RS512'], issuer: 'jwtgate' });
        const kid = decodeProtectedHeader(token).kid!;
        verified.set(kid, (verified.get(kid) ?? 0) + 1);
        res.end('ok');
      } catch (err) {
        failures.push(`${(err as Error).message} (cached kids: ${jwks?.kids.join(',')})`);
        res.statusCode = 401;
        res.end('unverifiable');
      }
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
      await adminJson(gateway, 'PUT', '/admin/users/loader', { password: 'loader-password', roles: ['ROLE_USER'] });
      const [oldKid] = await publishedKids(gateway.url);

      const statuses = new Map<number, number>();
      const stopAt = Date.now() + 5000;
      const worker = async (auth?: string) => {
        while (Date.now() < stopAt) {
          const res = await fetch(`${gateway.url}/proxy/load`, { headers: auth ? { authorization: auth } : {} });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      };
      const load = Promise.all([worker(), worker(), worker(basicAuth('loader', 'loader-password')), worker(basicAuth('loader', 'loader-password'))]);
      await sleep(1000);
      const rotated = await runCli(['keys', 'rotate', '--publish-delay', '2', '--grace', '3', '--data-dir', gateway.dataDir]);
      assert.equal(rotated.code, 0, rotated.stderr);
      const newKid = rotated.stdout.trim();
      await load;

      assert.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}; failures: ${failures.slice(0, 3).join(' | ')}`);
      assert.deepEqual(failures, []);
      const total = [...statuses.values()].reduce((a, b) => a + b, 0);
      assert.ok(total > 200, `only ${total} requests`);
      assert.ok((verified.get(oldKid!) ?? 0) > 0 && (verified.get(newKid) ?? 0) > 0, `kids seen: ${JSON.stringify([...verified])}`);
      assert.ok(jwksFetches >= 2);

      const list = JSON.parse((await runCli(['keys', 'list', '--json', '--data-dir', gateway.dataDir])).stdout) as Array<{ kid: string; state: string; notAfter: string | null }>;
      assert.equal(list.find((k) => k.state === 'active')?.kid, newKid);
      const notAfter = Date.parse(list.find((k) => k.kid === oldKid)!.notAfter!);
      if (Date.now() < notAfter - 300) assert.ok((await publishedKids(gateway.url)).includes(oldKid!), 'old key published until notAfter');
      await sleep(Math.max(0, notAfter - Date.now()) + 1000);
      assert.deepEqual(await publishedKids(gateway.url), [newKid], 'old key gone after notAfter');
      const after = JSON.parse((await runCli(['keys', 'list', '--json', '--data-dir', gateway.dataDir])).stdout) as Array<{ kid: string; state: string }>;
      assert.equal(after.find((k) => k.kid === oldKid)?.state, 'retired');
    } finally {
      upstream.close();
      await gateway.stop();
    }
  });
});
