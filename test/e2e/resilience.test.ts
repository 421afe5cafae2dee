/** Nothing acknowledged is lost: SIGKILL mid-stream of admin writes, SIGTERM draining a slow upload, the audit log. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, it } from 'node:test';
import { adminJson, startGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/process.js';
import { startRecorder } from '../helpers/recorder.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('resilience', () => {
  it('every admin write that got a 2xx survives SIGKILL', async () => {
    const gateway = await startGateway();
    const acknowledged: string[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const name = `user-${w}-${i}`;
        try {
          const res = await adminJson(gateway, 'PUT', `/admin/users/${name}`, { roles: ['ROLE_USER', `ROLE_${i}`] });
          if (res.status === 201) acknowledged.push(name);
        } catch {
          return; // the connection died with the process
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    // Kill mid-stream, once a fair number of writes were acknowledged (or after 5 s on a busy machine).
    for (let waited = 0; acknowledged.length < 30 && waited < 5000; waited += 50) await sleep(50);
    gateway.proc.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await gateway.exited;
    assert.ok(acknowledged.length >= 10, `only ${acknowledged.length} writes acknowledged`);

    const again = await startGateway({ dataDir: gateway.dataDir });
    try {
      const names = new Set(((await adminJson(again, 'GET', '/admin/users')).body as Array<{ name: string }>).map((u) => u.name));
      const lost = acknowledged.filter((n) => !names.has(n));
      assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged writes lost`);
    } finally {
      await again.stop();
    }
  });

  it('SIGTERM lets a slow streaming upload finish, refuses new connections, and exits within the drain timeout', async () => {
    const upstream = await startRecorder((_req, res, body) => res.end(String(body.length)));
    const gateway = await startGateway({ args: ['--drain-timeout', '10'] });
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
      const chunk = Buffer.alloc(64 * 1024, 7);
      const chunks = 20;
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(`${gateway.url}/proxy/upload`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        let sent = 0;
        const timer = setInterval(() => {
          req.write(chunk);
          if (++sent === chunks) {
            clearInterval(timer);
            req.end();
          }
        }, 100);
      });
      await sleep(400);
      const signalledAt = Date.now();
      gateway.proc.kill('SIGTERM');
      await sleep(200);
      await assert.rejects(fetch(`${gateway.url}/healthz`), 'new connections are refused while draining');
      const result = await answer;
      assert.equal(result.status, 200);
      assert.equal(result.body, String(chunk.length * chunks), 'the whole upload reached the upstream');
      assert.equal(await gateway.exited, 0);
      assert.ok(Date.now() - signalledAt < 10_000);
    } finally {
      await gateway.stop();
      await upstream.close();
    }
  });

  it('writes one JSON audit line per admin change, from the API and the CLI, never a secret', async () => {
    const gateway = await startGateway();
    try {
      await adminJson(gateway, 'PUT', '/admin/users/zed', { password: 'zed-secret-password', roles: ['ROLE_USER'] });
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: 'http://127.0.0.1:9' });
      await adminJson(gateway, 'POST', '/admin/keys/rotate', {});
      await adminJson(gateway, 'DELETE', '/admin/users/zed');
      await runCli(['users', 'set', 'yan', '--roles', 'ROLE_USER', '--password-stdin', '--data-dir', gateway.dataDir], { input: 'yan-secret-password\n' });
      await runCli(['proxy', 'disable', '--data-dir', gateway.dataDir]);
      await runCli(['token', 'mint', '--sub', 'yan', '--roles', 'ROLE_USER', '--data-dir', gateway.dataDir]);
      const file = path.join(gateway.dataDir, 'audit.log');
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const text = fs.readFileSync(file, 'utf8');
      const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { time: string; actor: string; action: string; target: string | null });
      assert.deepEqual(lines.map((l) => [l.actor.replace(/^cli:.*/, 'cli'), l.action]), [
        ['admin', 'user.create'], ['admin', 'proxy.set'], ['admin', 'key.rotate'], ['admin', 'user.delete'], ['cli', 'user.create'], ['cli', 'proxy.disable'], ['cli', 'token.mint'],
      ]);
      for (const l of lines) assert.ok(!Number.isNaN(Date.parse(l.time)));
      assert.equal(lines[0]!.target, 'zed');
      assert.doesNotMatch(text, /secret-password|scrypt|PRIVATE/);
    } finally {
      await gateway.stop();
    }
  });
});
