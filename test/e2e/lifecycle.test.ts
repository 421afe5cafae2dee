/** Start-up (first-start admin, key), CLI-made changes seen by a running server, and SIGTERM draining. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { adminJson, basicAuth, startGateway } from '../helpers/gateway.js';

describe('lifecycle', () => {
  it('creates admin with a random password printed once when JWTGATE_ADMIN_PASSWORD is unset', async () => {
    const gateway = await startGateway({ env: { JWTGATE_ADMIN_PASSWORD: '' } });
    try {
      const match = gateway.output().match(/created user admin with generated password: (\S+?)"/);
      assert.ok(match, gateway.output());
      const password = match[1]!;
      assert.ok(password.length >= 20);
      const res = await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('admin', password) } });
      assert.deepEqual(await res.json(), { name: 'admin', roles: ['ROLE_ADMIN', 'ROLE_USER'] });
      assert.match(gateway.output(), /generated RSA 2048 signing key/);
      assert.match(gateway.output(), /generated RSA 2048 next key/);
      const published = async (url: string) => ((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
      const kids = await published(gateway.url);
      assert.equal(kids.length, 2, 'the active key and the next key, from the first start');
      await gateway.stop();
      // Second start: nothing is generated again, nothing printed, the same two keys; and the
      // key it finds is no "change" (it used to log `signing key changed` on every start).
      const again = await startGateway({ dataDir: gateway.dataDir, env: { JWTGATE_ADMIN_PASSWORD: '' } });
      assert.deepEqual(await published(again.url), kids, 'the next key is still there after a restart');
      // A change that does happen is logged: a rotation by the CLI.
      const { runCli } = await import('../helpers/process.js');
      const rotated = await runCli(['keys', 'rotate', '--data-dir', gateway.dataDir]);
      assert.equal(rotated.code, 0, rotated.stderr);
      for (let i = 0; i < 50 && !again.output().includes('signing key changed'); i++) await new Promise((r) => setTimeout(r, 100));
      await again.stop();
      const lines = again.output().split('\n');
      assert.equal(lines.filter((l) => /generated password|generated RSA/.test(l)).length, 0);
      assert.deepEqual(lines.filter((l) => l.includes('signing key changed')).map((l) => (JSON.parse(l) as { kid: string }).kid), [rotated.stdout.trim()], 'logged once, for the rotation only');
    } finally {
      await gateway.stop();
    }
  });

  it('a starting server retires keys whose grace ended while no server ran (private key erased)', async () => {
    const gateway = await startGateway();
    await gateway.stop();
    // A rotation two hours ago (the clock injected into the real transition): its grace of
    // token TTL + consumer cache (65 min) ended while no server ran.
    const { openStore } = await import('../../server/store/index.js');
    const { keyLifecycleOf, rotateSigningKey } = await import('../../server/tokens/index.js');
    const offline = openStore({ dataDir: gateway.dataDir, create: false });
    const twoHoursAgo = () => Date.now() - 2 * 3_600_000;
    await rotateSigningKey(keyLifecycleOf(offline, { tokenTtlSeconds: 300, consumerCacheMaxSeconds: 3600, rotateEverySeconds: null, keyEncryptionKey: null }, twoHoursAgo), { bits: 2048, force: true });
    assert.equal((await offline.listKeys()).filter((k) => k.state === 'retiring').length, 1);
    await offline.close();
    const again = await startGateway({ dataDir: gateway.dataDir });
    await again.stop();
    const store = openStore({ dataDir: gateway.dataDir, create: false });
    const keys = await store.listKeys();
    await store.close();
    assert.deepEqual(keys.map((k) => [k.state, k.privateKey === null]).sort(), [['active', false], ['next', false], ['retired', true]]);
  });

  it('upgrades a jwtgate 0.1 store at start: its active key keeps signing, its pending key becomes the next key, a store without one gets one', async () => {
    const { generateSigningKey } = await import('../../server/tokens/index.js');
    const { writeV1Store } = await import('../helpers/v1-store.js');
    const { tempDir } = await import('../helpers/process.js');
    const [active, pending] = await Promise.all([generateSigningKey(), generateSigningKey()]);
    const now = Date.now();
    const v1 = (key: typeof active, state: 'active' | 'pending', activatesAt: number) => ({ kid: key.kid, state, createdAt: now - 60_000, activatesAt, notAfter: null, privateKey: key.privateKey, publicJwk: key.publicJwk });
    const published = async (url: string) => ((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);

    // With a pending key (a rotation under way when the operator upgraded): nothing generated, nothing lost.
    const withPending = tempDir();
    const { hashPassword } = await import('../../server/identity/index.js');
    writeV1Store(withPending, [v1(active, 'active', now - 60_000), v1(pending, 'pending', now + 600_000)], [
      { name: 'admin', roles: ['ROLE_ADMIN', 'ROLE_USER'], passwordHash: await hashPassword('v1-admin-password') },
      { name: 'olduser', roles: ['ROLE_USER'], passwordHash: null },
    ]);
    const a = await startGateway({ dataDir: withPending });
    try {
      assert.deepEqual(await published(a.url), [active.kid, pending.kid]);
      assert.doesNotMatch(a.output(), /generated RSA/);
      // Users from before creation times were recorded: unknown (0), so a token minted before
      // the upgrade (by a replica not upgraded yet, an hour ago) still verifies for them.
      const { openStore } = await import('../../server/store/index.js');
      const store = openStore({ dataDir: withPending, create: false });
      assert.deepEqual((await store.listUsers()).map((u) => [u.name, u.createdAt]), [['admin', 0], ['olduser', 0]]);
      await store.close();
      const { mintToken } = await import('../../server/tokens/index.js');
      const { createPrivateKey } = await import('node:crypto');
      const hourAgo = (name: string) => mintToken({ kid: active.kid, privateKey: createPrivateKey(active.privateKey) }, { name, roles: ['ROLE_USER'] }, { issuer: 'jwtgate', audience: null, ttlSeconds: 7200, clockSkewSeconds: 30, now: () => now - 3_600_000 });
      const whoami = async (token: string) => (await fetch(`${a.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } })).status;
      assert.equal(await whoami(await hourAgo('olduser')), 200, 'a migrated user\'s token still verifies');
      assert.equal((await fetch(`${a.url}/api/whoami`, { headers: { authorization: basicAuth('admin', 'v1-admin-password') } })).status, 200, 'and their password');
      // A user created after the upgrade has a creation time: a token that old is not theirs.
      assert.equal((await adminJson({ url: a.url, adminAuth: basicAuth('admin', 'v1-admin-password') }, 'PUT', '/admin/users/newuser', { roles: ['ROLE_USER'] })).status, 201);
      assert.equal(await whoami(await hourAgo('newuser')), 401);
    } finally {
      await a.stop();
    }

    // With only an active key: a next key is published at start; the active key still signs.
    const activeOnly = tempDir();
    writeV1Store(activeOnly, [v1(active, 'active', now - 60_000)]);
    const b = await startGateway({ dataDir: activeOnly });
    try {
      const kids = await published(b.url);
      assert.equal(kids.length, 2);
      assert.equal(kids[0], active.kid);
      assert.match(b.output(), /generated RSA 2048 next key/);
      assert.doesNotMatch(b.output(), /signing key changed/);
      const { runCli } = await import('../helpers/process.js');
      const minted = await runCli(['token', 'mint', '--sub', 'x', '--data-dir', activeOnly]);
      assert.equal(JSON.parse(Buffer.from(minted.stdout.split('.')[0]!, 'base64url').toString()).kid, active.kid);
      // The new next key was published just now: a routine rotation waits for --consumer-cache-max.
      const rotate = await runCli(['keys', 'rotate', '--data-dir', activeOnly]);
      assert.equal(rotate.code, 2);
      assert.match(rotate.stderr, new RegExp(`the next key ${kids[1]} was published`));
    } finally {
      await b.stop();
    }
  });

  it('refuses to start with invalid configuration, listing every problem, exit code 2', async () => {
    const { runCli } = await import('../helpers/process.js');
    const res = await runCli(['serve', '--port', 'x', '--token-ttl', '0', '--data-dir', '/tmp/never-created'], { env: { JWTGATE_ADMIN_PASSWORD: 'short' } });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--port/);
    assert.match(res.stderr, /--token-ttl/);
    assert.match(res.stderr, /JWTGATE_ADMIN_PASSWORD/);
  });

  it('on SIGTERM finishes in-flight requests, then exits 0', async () => {
    let release: () => void = () => {};
    let gotRequest: () => void = () => {};
    const requested = new Promise<void>((resolve) => (gotRequest = resolve));
    const upstream = http.createServer((_req, res) => {
      release = () => res.end('finished');
      gotRequest();
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const gateway = await startGateway();
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
      const inFlight = fetch(`${gateway.url}/proxy/slow`);
      await requested;
      gateway.proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      // New connections are refused while draining.
      await assert.rejects(fetch(`${gateway.url}/healthz`));
      release();
      const res = await inFlight;
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'finished');
      assert.equal(await gateway.exited, 0);
      assert.match(gateway.output(), /stopped/);
    } finally {
      await gateway.stop();
      upstream.close();
    }
  });
});
