/**
 * A change to a user is in force for every request answered after the change is acknowledged,
 * however long the request waited between reading the user and acting: for a request body, for
 * a turn in the password queue, for a signature. Each case runs the change while the request
 * waits, and fails on a gateway that acts on what it read before the wait.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { requestFrom } from '../helpers/from-address.js';
import { runCli } from '../helpers/process.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MALLORY = basicAuth('mallory', 'mallory-password-1');

/** Sends the head of a JSON request now and its body when `finish` is called; resolves with the raw answer. */
function slowJsonRequest(port: number, method: string, path: string, auth: string, body: unknown) {
  const json = JSON.stringify(body);
  const socket = net.connect(port, '127.0.0.1');
  socket.write(`${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n`);
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  const done = new Promise<string>((resolve, reject) => {
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
  return { finish: () => socket.write(json), done };
}

describe('revocation: a request that waited acts on the user as it is now', () => {
  let gateway: TestGateway;
  let upstream: Recorder;
  before(async () => {
    gateway = await startGateway({ args: ['--max-login-failures', '1000', '--login-max-wait', '120'] });
    upstream = await startRecorder();
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
  });
  after(async () => {
    await upstream?.close();
    await gateway?.stop();
  });

  const cli = async (args: string[], input = '') => {
    const result = await runCli([...args, '--data-dir', gateway.dataDir], { input });
    assert.equal(result.code, 0, result.stderr);
  };
  const resetMallory = async () => assert.ok([200, 201].includes((await adminJson(gateway, 'PUT', '/admin/users/mallory', { password: 'mallory-password-1', roles: ['ROLE_ADMIN', 'ROLE_USER'] })).status));

  for (const [change, args, input, status, code] of [
    ['deleted', ['users', 'delete', 'mallory'], '', 401, 'ERR_ACTOR_REVOKED'],
    ['demoted', ['users', 'set', 'mallory', '--roles', 'ROLE_USER'], '', 403, 'ERR_FORBIDDEN'],
    ['given a new password', ['users', 'set', 'mallory', '--password-stdin'], 'a-new-password-for-mallory\n', 401, 'ERR_ACTOR_REVOKED'],
  ] as const) {
    it(`an admin write whose body arrives after its administrator was ${change} (by the CLI) is refused and writes nothing`, async () => {
      await resetMallory();
      const write = slowJsonRequest(gateway.port, 'PUT', '/admin/users/backdoor', MALLORY, { roles: ['ROLE_ADMIN', 'ROLE_USER'] });
      await sleep(400); // the credentials are checked (and cached) before the body is read
      await cli([...args], input);
      write.finish();
      const answer = await write.done;
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), answer);
      assert.ok(answer.includes(code), answer);
      assert.equal((await adminJson(gateway, 'GET', '/admin/users')).body instanceof Array && ((await adminJson(gateway, 'GET', '/admin/users')).body as { name: string }[]).some((u) => u.name === 'backdoor'), false, 'no backdoor user');
      const audit = await import('node:fs').then((fs) => fs.readFileSync(`${gateway.dataDir}/audit.log`, 'utf8'));
      assert.ok(!audit.includes('"target":"backdoor"'), 'nothing audited as done by mallory');
    });
  }

  it('an admin write held open while its administrator is deleted and created again (same name, new password) is refused', async () => {
    // A fresh Mallory: her first password (version counting would give both the same number).
    await adminJson(gateway, 'DELETE', '/admin/users/mallory');
    await resetMallory();
    const write = slowJsonRequest(gateway.port, 'PUT', '/admin/users/backdoor', MALLORY, { roles: ['ROLE_ADMIN', 'ROLE_USER'] });
    await sleep(400);
    await cli(['users', 'delete', 'mallory']);
    await cli(['users', 'set', 'mallory', '--roles', 'ROLE_ADMIN,ROLE_USER', '--password-stdin'], 'the-rightful-owners-password\n');
    write.finish();
    const answer = await write.done;
    assert.match(answer, /^HTTP\/1\.1 401 /, answer);
    assert.ok(answer.includes('ERR_ACTOR_REVOKED'), answer);
  });

  it('a key rotation held open while its administrator is deleted is refused, and the keys stay as they were', async () => {
    await resetMallory();
    const before = (await adminJson(gateway, 'GET', '/admin/keys')).body;
    const rotate = slowJsonRequest(gateway.port, 'POST', '/admin/keys/rotate', MALLORY, { force: true });
    await sleep(400);
    await cli(['users', 'delete', 'mallory']);
    rotate.finish();
    const answer = await rotate.done;
    assert.match(answer, /^HTTP\/1\.1 401 /, answer);
    assert.deepEqual((await adminJson(gateway, 'GET', '/admin/keys')).body, before);
  });

  it('an admin read after its administrator was deleted is refused too', async () => {
    await resetMallory();
    assert.equal((await adminJson(gateway, 'GET', '/admin/users', undefined, MALLORY)).status, 200);
    await cli(['users', 'delete', 'mallory']);
    // The server sees the CLI's change within its poll interval (200 ms here) or, at the latest, in the store check.
    const res = await adminJson(gateway, 'GET', '/admin/users', undefined, MALLORY);
    assert.equal(res.status, 401);
  });

  /**
   * Puts `count` wrong-password checks from `address` in the password queue, so that the next
   * check from that address waits behind them (~count × 45 ms on 2 cores).
   */
  function queueBehind(address: string, count: number): Promise<unknown> {
    return Promise.all(Array.from({ length: count }, (_, i) => requestFrom(address, `${gateway.url}/api/whoami`, { headers: { authorization: basicAuth(`nobody-${i}`, 'wrong-password') } })));
  }

  for (const [change, args, expectStatus, expectRoles] of [
    ['demoted', ['users', 'set', 'mallory', '--roles', 'ROLE_USER'], 200, ['ROLE_USER']],
    ['deleted', ['users', 'delete', 'mallory'], 401, null],
  ] as const) {
    it(`/proxy: a login that waited in the password queue while its user was ${change} forwards the current state`, async () => {
      await resetMallory();
      const address = '127.0.3.1';
      // The first unknown user makes the gateway compute its dummy hash: not part of the queue.
      await requestFrom('127.0.3.9', `${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('warm-up', 'x') } });
      const flood = queueBehind(address, 40);
      await sleep(50);
      let answeredAt = 0;
      const proxied = requestFrom(address, `${gateway.url}/proxy/whoami`, { headers: { authorization: MALLORY } }).then((answer) => ((answeredAt = Date.now()), answer));
      const before = upstream.requests.length;
      await cli([...args]);
      const changedAt = Date.now();
      const answer = await proxied;
      await flood;
      assert.ok(answeredAt > changedAt, `inconclusive: the request was answered before the change (${answeredAt - changedAt} ms); queue it behind more checks`);
      assert.equal(answer.status, expectStatus, answer.body);
      if (expectRoles === null) {
        assert.equal(upstream.requests.length, before, 'nothing forwarded for a deleted user');
      } else {
        const token = String(upstream.requests.at(-1)!.headers.authorization).slice(7);
        assert.deepEqual(decodeJwt(token).authorities, expectRoles);
      }
    });
  }
});
