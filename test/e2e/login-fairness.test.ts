/**
 * Nobody can stall everybody's login, and nobody spends the gateway's CPU unthrottled: the
 * password queue is fair between clients and bounded in time; the credential cache sees through
 * spellings of one credential; IPv6 clients are counted by /64.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { requestFrom } from '../helpers/from-address.js';

describe('login fairness: the review\'s flood', () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway();
    await adminJson(gateway, 'PUT', '/admin/users/lena', { password: 'lena-password-12', roles: ['ROLE_USER'] });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('300 wrong-password checks from 30 addresses (each within its budget) leave a first login from another address under 2 s', async () => {
    const flood: Promise<unknown>[] = [];
    for (let a = 1; a <= 30; a++) {
      for (let i = 0; i < 10; i++) {
        flood.push(requestFrom(`127.0.4.${a}`, `${gateway.url}/api/whoami`, { headers: { authorization: basicAuth(`guess-${a}-${i}`, 'wrong-password') } }).catch(() => undefined));
      }
    }
    await new Promise((r) => setTimeout(r, 300)); // the flood is queued
    const started = Date.now();
    const answer = await requestFrom('127.0.5.1', `${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('lena', 'lena-password-12') } });
    const took = Date.now() - started;
    assert.equal(answer.status, 200, answer.body);
    assert.ok(took < 2000, `the first login took ${took} ms`);
    await Promise.all(flood);
  });
});

describe('login fairness: networks, not addresses', () => {
  it('80 /64s of one IPv6 /48, one check each, leave a first login from another network under 2 s', async () => {
    const gateway = await startGateway({ args: ['--trust-proxy', '127.0.0.1'] });
    try {
      await adminJson(gateway, 'PUT', '/admin/users/nina', { password: 'nina-password-12', roles: ['ROLE_USER'] });
      const flood = Array.from({ length: 80 }, (_, i) =>
        requestFrom('127.0.0.1', `${gateway.url}/api/whoami`, { headers: { authorization: basicAuth(`guess-${i}`, 'wrong-password'), 'x-forwarded-for': `2001:db8:77:${i.toString(16)}::1` } }).catch(() => undefined),
      );
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      const answer = await requestFrom('127.0.0.1', `${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('nina', 'nina-password-12'), 'x-forwarded-for': '203.0.113.77' } });
      const took = Date.now() - started;
      assert.equal(answer.status, 200, answer.body);
      assert.ok(took < 2000, `the first login took ${took} ms`);
      await Promise.all(flood);
    } finally {
      await gateway.stop();
    }
  });
});

describe('login fairness: bounds', () => {
  it('a check that cannot get a turn within --login-max-wait is refused: 503, ERR_LOGIN_BUSY, Retry-After', async () => {
    const gateway = await startGateway({ args: ['--login-max-wait', '1', '--max-login-failures', '1000'] });
    try {
      const answers = await Promise.all(Array.from({ length: 80 }, (_, i) => requestFrom('127.0.6.1', `${gateway.url}/api/whoami`, { headers: { authorization: basicAuth(`nobody-${i}`, 'wrong-password') } })));
      const busy = answers.filter((a) => a.status === 503);
      assert.ok(busy.length > 0, `statuses: ${answers.map((a) => a.status).join(',')}`);
      assert.ok(answers.every((a) => a.status === 401 || a.status === 503));
      assert.equal(JSON.parse(busy[0]!.body).code, 'ERR_LOGIN_BUSY');
      assert.equal(busy[0]!.headers['retry-after'], '1');
      assert.equal((await requestFrom('127.0.6.2', `${gateway.url}/api/whoami`, { headers: { authorization: gateway.adminAuth } })).status, 200, 'and the queue recovers');
    } finally {
      await gateway.stop();
    }
  });

  it('every spelling of one credential costs one hash: with a success budget of 3 checks, 12 spellings all pass', async () => {
    const gateway = await startGateway({ args: ['--max-login-failures', '1'] });
    try {
      await adminJson(gateway, 'PUT', '/admin/users/vera', { password: 'vera-password-12', roles: ['ROLE_USER'] });
      const encoded = Buffer.from('vera:vera-password-12').toString('base64');
      const spellings = ['Basic', 'basic', 'BASIC', 'bAsIc'].flatMap((scheme) => [`${scheme} ${encoded}`, `${scheme}   ${encoded}`, `${scheme} ${encoded}  `]);
      for (const spelling of spellings) {
        const answer = await requestFrom('127.0.7.1', `${gateway.url}/api/whoami`, { headers: { authorization: spelling } });
        assert.equal(answer.status, 200, `${JSON.stringify(spelling)}: ${answer.body}`);
      }
      // The control: distinct passwords of one user are distinct checks, and the 4th full check within the minute is refused.
      const ivan = await adminJson(gateway, 'PUT', '/admin/users/ivan', { password: 'ivan-password-12', roles: ['ROLE_USER'] });
      assert.equal(ivan.status, 201);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        await adminJson(gateway, 'PUT', '/admin/users/ivan', { password: `ivan-password-${i}x` });
        statuses.push((await requestFrom('127.0.7.2', `${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('ivan', `ivan-password-${i}x`) } })).status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 200], 'a password change resets the user\'s budget');
    } finally {
      await gateway.stop();
    }
  });

  it('an IPv6 /64 shares one failure budget (--ipv6-prefix 64); the next /64 has its own', async () => {
    const gateway = await startGateway({ args: ['--max-login-failures', '2', '--trust-proxy', '127.0.0.1'] });
    try {
      const from = (ip: string, name: string) => requestFrom('127.0.0.1', `${gateway.url}/api/whoami`, { headers: { authorization: basicAuth(name, 'wrong-password'), 'x-forwarded-for': ip } });
      assert.equal((await from('2001:db8:aa:1::1', 'a')).status, 401);
      assert.equal((await from('2001:db8:aa:1:ffff:ffff:ffff:ffff', 'b')).status, 401);
      assert.equal((await from('2001:db8:aa:1:1234::9', 'c')).status, 429, 'a third address of the same /64');
      assert.equal((await from('2001:db8:aa:2::1', 'd')).status, 401, 'the next /64');
      assert.equal((await from('::ffff:203.0.113.50', 'e')).status, 401);
      assert.equal((await from('203.0.113.50', 'f')).status, 401);
      assert.equal((await from('203.0.113.50', 'g')).status, 429, 'an IPv4-mapped address is its IPv4 address');
    } finally {
      await gateway.stop();
    }
  });
});
