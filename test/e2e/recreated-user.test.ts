/**
 * A user deleted and created again under the same name is another user: a token the gateway
 * minted for the earlier one, sent back to /api, is refused; one minted for the new user works.
 * Through the admin API (seen before it answers) and through the CLI (another process, seen
 * within --poll-interval).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/process.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a token of a deleted user is not one of a new user of the same name', () => {
  let gateway: TestGateway;
  let upstream: Recorder;
  // No clock skew between minting and creating here (one host): the refusal margin is then 1 s
  // (iat is whole seconds), so each re-creation below waits a little more than that.
  before(async () => {
    gateway = await startGateway({ args: ['--clock-skew', '0'] });
    upstream = await startRecorder();
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  /** The token the upstream receives for a /proxy request with these credentials: what it would send back to /api. */
  async function tokenForwardedFor(name: string, password: string): Promise<string> {
    const res = await fetch(`${gateway.url}/proxy/whoever`, { headers: { authorization: basicAuth(name, password) } });
    assert.equal(res.status, 200, await res.text());
    return String(upstream.requests.at(-1)!.headers.authorization).slice('Bearer '.length);
  }
  const whoami = (token: string) => fetch(`${gateway.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });

  it('through the admin API: the old token gets 401 ERR_INVALID_TOKEN at once, a new one 200', async () => {
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/bob', { password: 'bob-password-one', roles: ['ROLE_USER'] })).status, 201);
    const oldToken = await tokenForwardedFor('bob', 'bob-password-one');
    assert.equal((await whoami(oldToken)).status, 200, 'the token works for the user it was minted for');

    assert.equal((await adminJson(gateway, 'DELETE', '/admin/users/bob')).status, 204);
    await sleep(1100);
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/bob', { password: 'bob-password-two', roles: ['ROLE_USER', 'ROLE_NEW'] })).status, 201);

    const refused = await whoami(oldToken);
    assert.equal(refused.status, 401);
    const body = (await refused.json()) as { code: string; error: string };
    assert.equal(body.code, 'ERR_INVALID_TOKEN');
    assert.match(body.error, /minted before the user "bob" was created/);
    const session = await fetch(`${gateway.url}/api/session`, { headers: { authorization: `Bearer ${oldToken}` } });
    assert.equal(session.status, 401, '/api/session too');

    const newToken = await tokenForwardedFor('bob', 'bob-password-two');
    const accepted = await whoami(newToken);
    assert.equal(accepted.status, 200);
    assert.deepEqual(await accepted.json(), { name: 'bob', roles: ['ROLE_NEW', 'ROLE_USER'] });
    // A role change is no re-creation: the new token keeps working.
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/bob', { roles: ['ROLE_USER'] })).status, 200);
    assert.equal((await whoami(newToken)).status, 200);
  });

  it('through the CLI (another process): refused once the server has seen the change', async () => {
    const dd = ['--data-dir', gateway.dataDir];
    assert.equal((await runCli(['users', 'set', 'carol', '--roles', 'ROLE_USER', '--password-stdin', ...dd], { input: 'carol-password-1\n' })).code, 0);
    let oldToken = '';
    for (let i = 0; i < 50 && oldToken === ''; i++) {
      // The server sees the CLI's user within --poll-interval.
      const res = await fetch(`${gateway.url}/proxy/x`, { headers: { authorization: basicAuth('carol', 'carol-password-1') } });
      if (res.status === 200) oldToken = String(upstream.requests.at(-1)!.headers.authorization).slice('Bearer '.length);
      else await sleep(50);
    }
    assert.equal((await whoami(oldToken)).status, 200);
    assert.equal((await runCli(['users', 'delete', 'carol', ...dd])).code, 0);
    await sleep(1100);
    assert.equal((await runCli(['users', 'set', 'carol', '--roles', 'ROLE_USER', ...dd])).code, 0);
    let status = 0;
    for (let i = 0; i < 50 && status !== 401; i++) {
      if (i > 0) await sleep(50);
      status = (await whoami(oldToken)).status;
    }
    assert.equal(status, 401, 'the recreated carol does not take the old carol\'s token');
    const minted = await runCli(['token', 'mint', '--sub', 'carol', '--roles', 'ROLE_USER', ...dd]);
    assert.equal(minted.code, 0, minted.stderr);
    assert.equal((await whoami(minted.stdout.trim())).status, 200, 'a token minted after the re-creation (here by the CLI) works');
  });
});
