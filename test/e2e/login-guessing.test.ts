/** Hostile tests, continued (security.test.ts): passwords resist guessing, against the real gateway. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminJson, basicAuth, startGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('security: credentials resist guessing', () => {
  it('throttles failed logins per client (429 + Retry-After); a CLI password reset lifts it', async () => {
    const gateway = await startGateway({ args: ['--max-login-failures', '5'] });
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: 'http://127.0.0.1:9' });
      const wrong = basicAuth('admin', 'wrong-password-x');
      for (let i = 0; i < 5; i++) assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: wrong } })).status, 401);
      const blocked = await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: wrong } });
      assert.equal(blocked.status, 429);
      assert.ok(Number(blocked.headers.get('retry-after')) > 0);
      assert.equal((await fetch(`${gateway.url}/proxy/x`, { headers: { authorization: wrong } })).status, 429, 'the /proxy path shares the throttle');
      // Recovery from the local host: reset the password with the CLI.
      const reset = await runCli(['users', 'set', 'admin', '--password-stdin', '--data-dir', gateway.dataDir], { input: 'a-brand-new-password\n' });
      assert.equal(reset.code, 0, reset.stderr);
      let status = 0;
      for (let i = 0; i < 30 && status !== 200; i++) {
        await sleep(100);
        status = (await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('admin', 'a-brand-new-password') } })).status;
      }
      assert.equal(status, 200);
    } finally {
      await gateway.stop();
    }
  });

  it('counts concurrent attempts: a burst of wrong passwords gets no more guesses than the limit', async () => {
    const gateway = await startGateway({ args: ['--max-login-failures', '3'] });
    try {
      await adminJson(gateway, 'PUT', '/admin/users/carl', { password: 'carl-password-1', roles: ['ROLE_USER'] });
      const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('carl', `guess-number-${i}`) } }).then((r) => r.status)));
      assert.equal(statuses.filter((s) => s === 401).length, 3, JSON.stringify(statuses));
      assert.equal(statuses.filter((s) => s === 429).length, 17);
    } finally {
      await gateway.stop();
    }
  });

  it('does not refuse legitimate concurrent logins: 20 users behind one address log in at once under a limit of 3', async () => {
    const gateway = await startGateway({ args: ['--max-login-failures', '3'] });
    try {
      const names = Array.from({ length: 20 }, (_, i) => `nat-user-${i}`);
      for (const name of names) await adminJson(gateway, 'PUT', `/admin/users/${name}`, { password: `${name}-password`, roles: ['ROLE_USER'] });
      const statuses = await Promise.all(names.map((name) => fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth(name, `${name}-password`) } }).then((r) => r.status)));
      assert.deepEqual(statuses, names.map(() => 200));
    } finally {
      await gateway.stop();
    }
  });

  it('throttles per user name across client addresses, except for a loopback client', async () => {
    const gateway = await startGateway({ args: ['--max-login-failures', '3', '--trust-proxy', '127.0.0.1'] });
    try {
      await adminJson(gateway, 'PUT', '/admin/users/bob', { password: 'bob-password-12', roles: ['ROLE_USER'] });
      const from = (ip: string, auth: string) => fetch(`${gateway.url}/api/whoami`, { headers: { authorization: auth, 'x-forwarded-for': ip } });
      for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) assert.equal((await from(ip, basicAuth('bob', 'guess-guess-guess'))).status, 401);
      assert.equal((await from('203.0.113.4', basicAuth('bob', 'bob-password-12'))).status, 429, 'bob is throttled from a new address');
      assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('bob', 'bob-password-12') } })).status, 200, 'not from loopback');
    } finally {
      await gateway.stop();
    }
  });

  it('unknown users and wrong passwords take the same time (medians within 35%)', async () => {
    const gateway = await startGateway({ args: ['--max-login-failures', '10000'] });
    try {
      const time = async (auth: string) => {
        const t = process.hrtime.bigint();
        const res = await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: auth } });
        await res.arrayBuffer();
        assert.equal(res.status, 401);
        return Number(process.hrtime.bigint() - t) / 1e6;
      };
      const unknown: number[] = [];
      const wrong: number[] = [];
      await time(basicAuth('warm-up', 'x'));
      for (let i = 0; i < 15; i++) {
        unknown.push(await time(basicAuth(`nobody-${i}`, `password-${i}`)));
        wrong.push(await time(basicAuth('admin', `password-${i}`)));
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const ratio = median(unknown) / median(wrong);
      assert.ok(ratio > 0.65 && ratio < 1.35, `unknown ${median(unknown).toFixed(1)} ms vs wrong ${median(wrong).toFixed(1)} ms`);
      assert.ok(median(wrong) > 5, 'a real hash was checked');
    } finally {
      await gateway.stop();
    }
  });
});
