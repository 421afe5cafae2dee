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
      assert.equal(((await (await fetch(`${gateway.url}/.well-known/jwks.json`)).json()) as { keys: unknown[] }).keys.length, 1);
      await gateway.stop();
      // Second start: nothing is generated again, nothing printed.
      const again = await startGateway({ dataDir: gateway.dataDir, env: { JWTGATE_ADMIN_PASSWORD: '' } });
      assert.doesNotMatch(again.output(), /generated password|generated RSA/);
      await again.stop();
    } finally {
      await gateway.stop();
    }
  });

  it('a starting server retires keys whose grace ended while no server ran (private key erased)', async () => {
    const gateway = await startGateway();
    await gateway.stop();
    const { runCli } = await import('../helpers/process.js');
    const rotated = await runCli(['keys', 'rotate', '--publish-delay', '0', '--grace', '1', '--data-dir', gateway.dataDir]);
    assert.equal(rotated.code, 0, rotated.stderr);
    await new Promise((r) => setTimeout(r, 1500));
    const again = await startGateway({ dataDir: gateway.dataDir });
    await again.stop();
    const { openStore } = await import('../../server/store/index.js');
    const store = openStore({ dataDir: gateway.dataDir, create: false });
    const keys = await store.listKeys();
    await store.close();
    assert.deepEqual(keys.map((k) => [k.state, k.privateKey === null]).sort(), [['active', false], ['retired', true]]);
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
