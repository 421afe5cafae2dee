/** Browser sessions over real HTTP, continued (sessions.test.ts): expiry, secret rotation, https cookies, --require-login, the CLI. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminJson, startGateway } from '../helpers/gateway.js';
import { login } from '../helpers/login.js';
import { runCli } from '../helpers/process.js';
import { startRecorder } from '../helpers/recorder.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sessions: expiry, secrets, https, --require-login, CLI', () => {
  it('ends a session after --session-idle-timeout without use, and after --session-max-age however used', async () => {
    const gateway = await startGateway({ args: ['--session-idle-timeout', '2', '--session-max-age', '4'] });
    try {
      await adminJson(gateway, 'PUT', '/admin/users/cora', { password: 'cora-password-1', roles: ['ROLE_USER'] });
      const idle = (await login(gateway, 'cora', 'cora-password-1')).cookie!;
      const busy = (await login(gateway, 'cora', 'cora-password-1')).cookie!;
      const who = (cookie: string) => fetch(`${gateway.url}/api/whoami`, { headers: { cookie } }).then((r) => r.status);
      for (let t = 0; t < 6; t++) {
        await sleep(600);
        assert.equal(await who(busy), 200, `used every 0.6 s, at ${(t + 1) * 0.6} s`);
      }
      assert.equal(await who(idle), 401, 'idle for 3.6 s > 2 s');
      await sleep(800);
      assert.equal(await who(busy), 401, 'past the 4 s absolute limit, even though used');
    } finally {
      await gateway.stop();
    }
  });

  it('a rotated session secret keeps the sessions it signed; new logins get the new one', async () => {
    const gateway = await startGateway();
    try {
      await adminJson(gateway, 'PUT', '/admin/users/dan', { password: 'dan-password-12', roles: ['ROLE_USER'] });
      const old = (await login(gateway, 'dan', 'dan-password-12')).cookie!;
      const rotated = await runCli(['sessions', 'rotate-secret', '--data-dir', gateway.dataDir]);
      assert.equal(rotated.code, 0, rotated.stderr);
      const secretId = rotated.stdout.trim();
      let fresh: string | undefined;
      for (let i = 0; i < 20 && !fresh?.includes(`=${secretId}.`); i++) {
        await sleep(100);
        fresh = (await login(gateway, 'dan', 'dan-password-12')).cookie;
      }
      assert.ok(fresh?.startsWith(`jwtgate_session=${secretId}.`), `signed by the new secret: ${fresh}`);
      for (const cookie of [old, fresh!]) assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { cookie } })).status, 200);
      const listed = await runCli(['sessions', 'list', '--user', 'dan', '--json', '--data-dir', gateway.dataDir]);
      const sessions = JSON.parse(listed.stdout) as { handle: string; user: string }[];
      assert.ok(sessions.length >= 2 && sessions.every((s) => s.user === 'dan'));
      const revoked = await runCli(['sessions', 'revoke', '--user', 'dan', '--data-dir', gateway.dataDir]);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, /^ended \d+ sessions\n$/);
      let status = 200;
      for (let i = 0; i < 20 && status === 200; i++) {
        await sleep(100);
        status = (await fetch(`${gateway.url}/api/whoami`, { headers: { cookie: old } })).status;
      }
      assert.equal(status, 401, 'the CLI\'s revocation reaches the running server within its poll interval');
    } finally {
      await gateway.stop();
    }
  });

  it('with an https public URL the cookie is __Host-jwtgate_session and Secure', async () => {
    const gateway = await startGateway({ args: ['--public-url', 'https://gw.example.com'] });
    try {
      const { setCookie, cookie } = await login(gateway, 'admin', 'admin-password-for-tests', { headers: { origin: 'https://gw.example.com' } });
      assert.match(setCookie, /^__Host-jwtgate_session=[\w.-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=86400; Secure$/);
      assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { cookie: cookie! } })).status, 200);
      assert.equal((await login(gateway, 'admin', 'admin-password-for-tests', { headers: { origin: `http://127.0.0.1:${gateway.port}` } })).res.status, 403, 'with a public URL, the own origin is the public one');
    } finally {
      await gateway.stop();
    }
    const forced = await startGateway({ args: ['--cookie-secure'] });
    try {
      assert.match((await login(forced, 'admin', 'admin-password-for-tests')).setCookie, /^__Host-jwtgate_session=.*; Secure$/);
    } finally {
      await forced.stop();
    }
  });

  it('--require-login: a browser with no identity (or an ended session) is sent to /login?next=…, anything else gets 401', async () => {
    const upstream = await startRecorder();
    const gateway = await startGateway({ args: ['--require-login'] });
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
      const page = await fetch(`${gateway.url}/proxy/reports?year=2026`, { redirect: 'manual', headers: { accept: 'text/html,application/xhtml+xml' } });
      assert.equal(page.status, 302);
      assert.equal(page.headers.get('location'), '/login?next=%2Fproxy%2Freports%3Fyear%3D2026');
      assert.equal((await fetch(`${gateway.url}/proxy/reports`, { headers: { accept: 'application/json' } })).status, 401);
      assert.equal(upstream.requests.length, 0);
      const { cookie } = await login(gateway, 'admin', 'admin-password-for-tests', { next: '/proxy/reports?year=2026' });
      assert.equal((await fetch(`${gateway.url}/proxy/reports`, { headers: { cookie: cookie!, accept: 'text/html' } })).status, 200);
      // The session ends: a page goes back to the login page with the cookie cleared; a script gets the 401.
      assert.equal((await fetch(`${gateway.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: cookie! } })).status, 303);
      const ended = await fetch(`${gateway.url}/proxy/reports`, { redirect: 'manual', headers: { cookie: cookie!, accept: 'text/html' } });
      assert.equal(ended.status, 302);
      assert.equal(ended.headers.get('location'), '/login?next=%2Fproxy%2Freports');
      assert.match(ended.headers.getSetCookie()[0]!, /^jwtgate_session=; Path=\/; .*Max-Age=0/);
      assert.equal((await fetch(`${gateway.url}/proxy/reports`, { headers: { cookie: cookie!, accept: 'application/json' } })).status, 401);
    } finally {
      await upstream.close();
      await gateway.stop();
    }
  });
});
