/**
 * Key rotation against real verifiers over HTTP: `jwtgate keys rotate` runs in another process
 * while requests stream through the gateway to an upstream that verifies every token three ways:
 * - Grafana-like: fetched the JWKS once, caches it 60 min, never refetches on an unknown kid;
 * - max-age-honouring: refetches when Cache-Control max-age expires, never on an unknown kid;
 * - jose `createRemoteJWKSet` with its defaults (refetches on an unknown kid after a 30 s cooldown).
 * A default rotation must be invisible to all three; an emergency rotation breaks the first
 * exactly as docs/keys.md says.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { grafanaLike, type JwksVerifier } from '../helpers/jwks-verifiers.js';
import { runCli } from '../helpers/process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function publishedKids(url: string): Promise<string[]> {
  return ((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as JSONWebKeySet).keys.map((k) => k.kid!);
}

/** An upstream that verifies each token with every verifier and answers what each said. */
async function verifyingUpstream(gateway: TestGateway, verifiers: Record<string, (token: string) => Promise<string>>) {
  const server = http.createServer(async (req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const results: Record<string, string> = { kid: decodeProtectedHeader(token).kid! };
    for (const [name, verify] of Object.entries(verifiers)) results[name] = await verify(token);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(results));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  return server;
}

function httpVerifiers(gateway: TestGateway, joseOptions: Parameters<typeof createRemoteJWKSet>[1] = {}) {
  const fetchJwks = async () => (await (await fetch(`${gateway.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const grafana: JwksVerifier = grafanaLike({ fetchJwks, now: Date.now, issuer: 'jwtgate' });
  const maxAge: JwksVerifier = grafanaLike({ fetchJwks, now: Date.now, issuer: 'jwtgate', cacheMs: 1000 });
  const remote = createRemoteJWKSet(new URL(`${gateway.url}/.well-known/jwks.json`), joseOptions);
  const jose = (token: string) => jwtVerify(token, remote, { algorithms: ['RS512'], issuer: 'jwtgate' }).then(() => 'ok', (err: Error) => err.message);
  return { grafana, maxAge, jose };
}

describe('key rotation seen by real verifiers', () => {
  it('a default `keys rotate` under load: no request fails, every verifier verifies every token, the Grafana-like one without refetching', async () => {
    // max-age 1 s: the max-age-honouring verifier refetches all through the rotation.
    const gateway = await startGateway({ args: ['--jwks-max-age', '1'] });
    const { grafana, maxAge, jose } = httpVerifiers(gateway);
    const upstream = await verifyingUpstream(gateway, { grafana: (t) => grafana.verify(t), maxAge: (t) => maxAge.verify(t), jose });
    try {
      await adminJson(gateway, 'PUT', '/admin/users/loader', { password: 'loader-password', roles: ['ROLE_USER'] });
      const [oldKid, nextKid] = await publishedKids(gateway.url);
      const failures: string[] = [];
      const kidsSeen = new Map<string, number>();
      let requests = 0;
      const stopAt = Date.now() + 5000;
      const worker = async (auth?: string) => {
        while (Date.now() < stopAt) {
          const res = await fetch(`${gateway.url}/proxy/load`, { headers: auth ? { authorization: auth } : {} });
          const body = (await res.json()) as Record<string, string>;
          requests++;
          kidsSeen.set(body['kid']!, (kidsSeen.get(body['kid']!) ?? 0) + 1);
          for (const name of ['grafana', 'maxAge', 'jose']) if (body[name] !== 'ok') failures.push(`${name} (${body['kid']}): ${body[name]}`);
          if (res.status !== 200) failures.push(`status ${res.status}`);
        }
      };
      const load = Promise.all([worker(), worker(), worker(basicAuth('loader', 'loader-password')), worker(basicAuth('loader', 'loader-password'))]);
      await sleep(1000);
      const rotated = await runCli(['keys', 'rotate', '--data-dir', gateway.dataDir]);
      assert.equal(rotated.code, 0, rotated.stderr);
      assert.equal(rotated.stdout.trim(), nextKid, 'the next key, published since the first start, signs at once');
      await load;

      assert.deepEqual(failures.slice(0, 5), []);
      assert.ok(requests > 200, `only ${requests} requests`);
      assert.deepEqual([...kidsSeen.keys()].sort(), [oldKid!, nextKid!].sort(), `kids seen: ${JSON.stringify([...kidsSeen])}`);
      assert.equal(grafana.fetches, 1, 'the Grafana-like verifier never refetched');
      assert.ok(maxAge.fetches >= 3);

      // The previous key stays published for the grace (token TTL + consumer cache: 65 min).
      const list = JSON.parse((await runCli(['keys', 'list', '--json', '--data-dir', gateway.dataDir])).stdout) as Array<{ kid: string; state: string; notAfter: string | null }>;
      const old = list.find((k) => k.kid === oldKid)!;
      assert.equal(old.state, 'retiring');
      assert.ok(Math.abs(Date.parse(old.notAfter!) - Date.now() - 65 * 60_000) < 60_000, old.notAfter!);
      const now = await publishedKids(gateway.url);
      assert.deepEqual([now[0], now[2]], [nextKid, oldKid], 'active, next, retiring');
      // Rotating again at once would promote a key published seconds ago: refused.
      const again = await runCli(['keys', 'rotate', '--data-dir', gateway.dataDir]);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /was published \d+ s ago/);
    } finally {
      upstream.close();
      await gateway.stop();
    }
  });

  it('`keys rotate --revoke-current` breaks the Grafana-like verifier exactly as documented; jose recovers after its cooldown; the gateway refuses the revoked key at once', async () => {
    const gateway = await startGateway();
    // A 1 s cooldown instead of jose's default 30 s, so that the test need not wait it out.
    const { grafana, jose } = httpVerifiers(gateway, { cooldownDuration: 1000 });
    const upstream = await verifyingUpstream(gateway, { grafana: (t) => grafana.verify(t), jose });
    try {
      await adminJson(gateway, 'PUT', '/admin/users/bob', { password: 'bob-password-1', roles: ['ROLE_USER'] });
      const bob = basicAuth('bob', 'bob-password-1');
      const before = (await (await fetch(`${gateway.url}/proxy/x`, { headers: { authorization: bob } })).json()) as Record<string, string>;
      assert.deepEqual([before['grafana'], before['jose']], ['ok', 'ok']);
      const revokedKid = before['kid']!;
      const [, oldNextKid] = await publishedKids(gateway.url);
      const revokedToken = (await runCli(['token', 'mint', '--sub', 'bob', '--roles', 'ROLE_USER', '--data-dir', gateway.dataDir])).stdout.trim();
      assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: `Bearer ${revokedToken}` } })).status, 200);
      await sleep(1100);

      const res = await runCli(['keys', 'rotate', '--revoke-current', '--data-dir', gateway.dataDir]);
      assert.equal(res.code, 0, res.stderr);
      const newKid = res.stdout.trim();
      assert.notEqual(newKid, oldNextKid, 'the next key sat in the same store: a fresh key signs');
      assert.match(res.stderr, /warning: emergency rotation: .*refuse every new token until their cache expires \(at most --consumer-cache-max, 3600 s\)/);
      assert.match(res.stderr, new RegExp(`${revokedKid} is retired`));
      let kids: string[] = [];
      for (let i = 0; i < 50 && kids[0] !== newKid; i++) {
        await sleep(100);
        kids = await publishedKids(gateway.url);
      }
      assert.equal(kids.length, 2);
      assert.ok(!kids.includes(revokedKid) && !kids.includes(oldNextKid!), 'both revoked keys left the JWKS at once');

      const after = (await (await fetch(`${gateway.url}/proxy/x`, { headers: { authorization: bob } })).json()) as Record<string, string>;
      assert.equal(after['kid'], newKid);
      assert.match(after['grafana']!, /no applicable key/, 'the Grafana-like verifier refuses the new tokens (until its 60 min cache expires)');
      assert.equal(after['jose'], 'ok', 'jose refetched on the unknown kid');
      assert.equal(grafana.fetches, 1);
      assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: `Bearer ${revokedToken}` } })).status, 401, 'the gateway refuses the revoked key at once');
    } finally {
      upstream.close();
      await gateway.stop();
    }
  });
});
