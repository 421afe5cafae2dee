/**
 * How many sessions there may be: --max-sessions-per-user (a login beyond it ends the user's
 * oldest sessions, on this server and on a replica of the same store), and the limit of the
 * listings (GET /admin/sessions, `jwtgate sessions list`).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { adminJson, startGateway, type TestGateway } from '../helpers/gateway.js';
import { loginCookie } from '../helpers/login.js';
import { runCli } from '../helpers/process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const sessionStatus = async (gateway: TestGateway, cookie: string) => (await fetch(`${gateway.url}/api/session`, { headers: { cookie } })).status;

describe('sessions: per-user cap and listing limits', () => {
  let gateway: TestGateway;
  let replica: TestGateway | undefined;
  before(async () => {
    gateway = await startGateway({ args: ['--max-sessions-per-user', '3'] });
    for (const name of ['alice', 'bob']) await adminJson(gateway, 'PUT', `/admin/users/${name}`, { password: `${name}-password-1`, roles: ['ROLE_USER'] });
  });
  after(async () => {
    await replica?.stop();
    await gateway?.stop();
  });

  it('a login beyond --max-sessions-per-user ends the user\'s oldest session at once; the others and other users\' stay; the login is audited with evicted', async () => {
    const bob = await loginCookie(gateway, 'bob', 'bob-password-1');
    const cookies: string[] = [];
    for (let i = 0; i < 3; i++) cookies.push(await loginCookie(gateway, 'alice', 'alice-password-1'));
    for (const cookie of cookies) assert.equal(await sessionStatus(gateway, cookie), 200, 'within the cap');
    cookies.push(await loginCookie(gateway, 'alice', 'alice-password-1'));
    const first = await fetch(`${gateway.url}/api/session`, { headers: { cookie: cookies[0]! } });
    assert.equal(first.status, 401, 'the oldest session ended with the fourth login');
    assert.equal(((await first.json()) as { code: string }).code, 'ERR_SESSION_INVALID');
    for (const cookie of cookies.slice(1)) assert.equal(await sessionStatus(gateway, cookie), 200);
    assert.equal(await sessionStatus(gateway, bob), 200, 'another user\'s session is not counted');

    const logins = fs.readFileSync(`${gateway.dataDir}/audit.log`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; actor: string; details?: { evicted?: number } }).filter((e) => e.action === 'session.login' && e.actor === 'alice');
    assert.deepEqual(logins.map((e) => e.details?.evicted), [undefined, undefined, undefined, 1]);
  });

  it('sessions ended by logins on a replica of the same store are refused here within --poll-interval', async () => {
    replica = await startGateway({ dataDir: gateway.dataDir, args: ['--max-sessions-per-user', '3'] });
    const cookie = await loginCookie(gateway, 'alice', 'alice-password-1');
    assert.equal(await sessionStatus(gateway, cookie), 200, 'in this server\'s cache now');
    const fromReplica: string[] = [];
    for (let i = 0; i < 3; i++) fromReplica.push(await loginCookie(replica, 'alice', 'alice-password-1'));
    assert.deepEqual(((await adminJson(gateway, 'GET', '/admin/sessions?user=alice')).body as unknown[]).length, 3, 'the cap holds across servers');
    let status = 200;
    for (let i = 0; i < 50 && status === 200; i++) {
      if (i > 0) await sleep(50);
      status = await sessionStatus(gateway, cookie);
    }
    assert.equal(status, 401, 'this server read the ends from the store\'s change log and dropped its cached session');
    for (const c of fromReplica) assert.equal(await sessionStatus(gateway, c), 200);
  });

  it('GET /admin/sessions: the newest `limit`, X-Total-Count, 400 on a bad limit', async () => {
    const all = await adminJson(gateway, 'GET', '/admin/sessions');
    const sessions = all.body as { handle: string; user: string; createdAt: string }[];
    assert.equal(all.headers.get('x-total-count'), String(sessions.length));
    assert.deepEqual(sessions.map((s) => s.user).sort(), ['alice', 'alice', 'alice', 'bob']);
    const two = await adminJson(gateway, 'GET', '/admin/sessions?limit=2');
    assert.equal(two.status, 200);
    assert.deepEqual((two.body as { handle: string }[]).map((s) => s.handle), sessions.slice(0, 2).map((s) => s.handle), 'the newest two');
    assert.equal(two.headers.get('x-total-count'), '4', 'the body was cut: the header says how many there are');
    const bob = await adminJson(gateway, 'GET', '/admin/sessions?user=bob&limit=10000');
    assert.deepEqual([(bob.body as unknown[]).length, bob.headers.get('x-total-count')], [1, '1']);
    for (const query of ['limit=0', 'limit=10001', 'limit=abc', 'limit=1.5', 'limit=-1', 'limit=', 'limit=1&limit=2', 'user=a&user=b']) {
      const bad = await adminJson(gateway, 'GET', `/admin/sessions?${query}`);
      assert.equal(bad.status, 400, query);
      assert.equal((bad.body as { code: string }).code, 'ERR_INVALID_INPUT', query);
    }
  });

  it('jwtgate sessions list --limit: the newest N, a warning on stderr when there are more; exit 2 on a bad limit', async () => {
    const dd = ['--data-dir', gateway.dataDir];
    const cut = await runCli(['sessions', 'list', '--limit', '2', ...dd]);
    assert.equal(cut.code, 0, cut.stderr);
    assert.equal(cut.stdout.trim().split('\n').length, 3, 'the header and two sessions');
    assert.equal(cut.stderr, 'jwtgate: warning: showing the newest 2 of 4 sessions (--limit)\n');
    const json = await runCli(['sessions', 'list', '--json', '--limit', '1', '--user', 'bob', ...dd]);
    assert.deepEqual([(JSON.parse(json.stdout) as unknown[]).length, json.stderr], [1, ''], 'all of bob\'s: no warning');
    const whole = await runCli(['sessions', 'list', ...dd]);
    assert.deepEqual([whole.stdout.trim().split('\n').length, whole.stderr], [5, '']);
    const bad = await runCli(['sessions', 'list', '--limit', '0', ...dd]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'jwtgate: --limit must be an integer from 1 to 10000, got "0"\n');
  });
});
