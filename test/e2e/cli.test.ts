/** Every CLI command: happy path, bad input (exit 2, one line on stderr), and a running server seeing the change. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { runCli, tempDir } from '../helpers/process.js';

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function assertBadInput(res: { code: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  assert.equal(res.code, 2, res.stderr);
  assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
  assert.match(res.stderr, pattern);
}

describe('CLI against a running gateway', () => {
  let gateway: TestGateway;
  let dd: string[];
  before(async () => {
    gateway = await startGateway({ args: ['--poll-interval', '1000'] });
    dd = ['--data-dir', gateway.dataDir];
  });
  after(() => gateway?.stop());

  it('every command has --help with an example and exits 0', async () => {
    for (const cmd of [['serve'], ['keys', 'rotate'], ['keys', 'list'], ['keys', 'import'], ['keys', 'export'], ['users', 'list'], ['users', 'set'], ['users', 'delete'], ['proxy', 'get'], ['proxy', 'set'], ['proxy', 'disable'], ['token', 'mint'], ['token', 'verify']]) {
      const res = await runCli([...cmd, '--help']);
      assert.equal(res.code, 0, cmd.join(' '));
      assert.match(res.stdout, /Example:\n {2}\S/, cmd.join(' '));
    }
  });

  it('proxy set/get/disable: the running server sees the change within 5 s', async () => {
    const set = await runCli(['proxy', 'set', 'http://127.0.0.1:9/base/', ...dd]);
    assert.equal(set.code, 0, set.stderr);
    const seen = await until(() => adminJson(gateway, 'GET', '/admin/proxy'), (r) => (r.body as { url: string }).url === 'http://127.0.0.1:9/base');
    assert.deepEqual(seen.body, { url: 'http://127.0.0.1:9/base' });
    const get = await runCli(['proxy', 'get', '--json', ...dd]);
    assert.deepEqual(JSON.parse(get.stdout), { url: 'http://127.0.0.1:9/base' });
    assert.equal((await runCli(['proxy', 'disable', ...dd])).code, 0);
    const res = await until(() => fetch(`${gateway.url}/proxy/x`), (r) => r.status === 501);
    assert.equal(res.status, 501);
    assert.equal((await runCli(['proxy', 'get', ...dd])).stdout.trim(), '(disabled)');
    for (const bad of ['ftp://x', 'not-a-url', 'http://u:p@x.test', 'http://x.test/?q']) assertBadInput(await runCli(['proxy', 'set', bad, ...dd]), /^jwtgate: url/);
  });

  it('users set/list/delete: password only through stdin, visible to the server within 5 s', async () => {
    const set = await runCli(['users', 'set', 'erin', '--roles', 'ROLE_USER,ROLE_X', '--password-stdin', ...dd], { input: 'erin-password-1\n' });
    assert.equal(set.code, 0, set.stderr);
    const auth = basicAuth('erin', 'erin-password-1');
    const whoami = await until(() => fetch(`${gateway.url}/api/whoami`, { headers: { authorization: auth } }), (r) => r.status === 200);
    assert.deepEqual(await whoami.json(), { name: 'erin', roles: ['ROLE_USER', 'ROLE_X'] });
    const list = JSON.parse((await runCli(['users', 'list', '--json', ...dd])).stdout) as Array<{ name: string; hasPassword: boolean }>;
    assert.deepEqual(list.find((u) => u.name === 'erin'), { name: 'erin', roles: ['ROLE_USER', 'ROLE_X'], hasPassword: true });
    assert.match((await runCli(['users', 'list', ...dd])).stdout, /^NAME\s+PASSWORD\s+ROLES\n/);
    // A role change through the CLI reaches a cached credential within 5 s.
    assert.equal((await runCli(['users', 'set', 'erin', '--roles', 'ROLE_USER', ...dd])).code, 0);
    const changed = await until(async () => (await (await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: auth } })).json()) as { roles: string[] }, (b) => b.roles.length === 1);
    assert.deepEqual(changed.roles, ['ROLE_USER']);
    assert.equal((await runCli(['users', 'delete', 'erin', ...dd])).code, 0);
    const gone = await until(() => fetch(`${gateway.url}/api/whoami`, { headers: { authorization: auth } }), (r) => r.status === 401);
    assert.equal(gone.status, 401);

    assertBadInput(await runCli(['users', 'delete', 'nobody', ...dd]), /no user/);
    assertBadInput(await runCli(['users', 'set', 'frank', '--password-stdin', ...dd], { input: 'short\n' }), /at least 12/);
    assertBadInput(await runCli(['users', 'set', 'frank', '--password-stdin', ...dd], { input: '' }), /empty/);
    // Neither --roles nor --password-stdin: the admin API's PUT {} rule (cli-rules.test.ts has the details).
    assert.equal((await runCli(['users', 'set', 'frank', ...dd])).stdout, 'created frank (no roles, no password)\n');
    assertBadInput(await runCli(['users', 'set', 'a:b', '--roles', 'R', ...dd]), /":"/);
    assertBadInput(await runCli(['users', 'delete', 'admin', ...dd]), /last administrator/);
    const unknownOption = await runCli(['users', 'set', 'frank', '--password', 'on-the-command-line', ...dd]);
    assert.equal(unknownOption.code, 2, 'no password on the command line');
  });

  it('token mint/verify with the store keys; verify explains failures', async () => {
    const mint = await runCli(['token', 'mint', '--sub', 'Alice', '--roles', 'ROLE_USER,ROLE_WONDERLAND', '--ttl', '60', ...dd]);
    assert.equal(mint.code, 0, mint.stderr);
    const token = mint.stdout.trim();
    const verified = await runCli(['token', 'verify', ...dd], { input: token });
    assert.equal(verified.code, 0, verified.stderr);
    const out = JSON.parse(verified.stdout) as { sub: string; authorities: string[]; claims: { exp: number; iat: number } };
    assert.equal(out.sub, 'Alice');
    assert.deepEqual(out.authorities, ['ROLE_USER', 'ROLE_WONDERLAND']);
    assert.equal(out.claims.exp - out.claims.iat, 60);
    // The gateway refuses it on /api while no user Alice exists, and answers with her current roles
    // once she does: she is created within --clock-skew (30 s) of the minting, the margin within
    // which a token minted just before a user's creation still counts as theirs (recreated-user.test.ts).
    assert.equal((await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } })).status, 401, 'no such user');
    assert.equal((await runCli(['users', 'set', 'Alice', '--roles', 'ROLE_USER', ...dd])).code, 0);
    let api: Response | undefined;
    for (let i = 0; i < 20 && api?.status !== 200; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      api = await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
    }
    assert.equal(api!.status, 200);
    assert.deepEqual(await api!.json(), { name: 'Alice', roles: ['ROLE_USER'] }, 'the current roles, not the token\'s');
    const [h, p] = token.split('.');
    assertBadInput(await runCli(['token', 'verify', ...dd], { input: `${h}.${p}.AAAA` }), /does not verify: the signature/);
    assertBadInput(await runCli(['token', 'verify', '--issuer', 'someone-else', ...dd], { input: token }), /does not verify: iss/);
    assertBadInput(await runCli(['token', 'mint', '--sub', '', ...dd]), /user name/);
    assertBadInput(await runCli(['token', 'mint', '--sub', 'x', '--ttl', '0', ...dd]), /--ttl/);
  });

  it('keys rotate/list/export and the admin keys API never expose private material', async () => {
    const before = JSON.parse((await runCli(['keys', 'list', '--json', ...dd])).stdout) as Array<{ kid: string; state: string; publishedAt: string }>;
    const firstNext = before.find((k) => k.state === 'next')!;
    assert.ok(firstNext && !Number.isNaN(Date.parse(firstNext.publishedAt)), 'keys list shows the next key and when it was published');
    const rotated = await runCli(['keys', 'rotate', '--bits', '3072', ...dd]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const kid = rotated.stdout.trim();
    assert.equal(kid, firstNext.kid, 'the next key signs now');
    assert.match(rotated.stderr, new RegExp(`^${kid} signs now .*\n\\S+ is the next key .*\n\\S+ no longer signs and stays published until `));
    const list = JSON.parse((await runCli(['keys', 'list', '--json', ...dd])).stdout) as Array<{ kid: string; state: string; bits: number; publishedAt: string; notAfter: string | null }>;
    assert.equal(list.find((k) => k.state === 'active')?.kid, kid);
    assert.equal(list.find((k) => k.state === 'next')?.bits, 3072, '--bits sizes the new next key');
    assert.equal(list.filter((k) => k.state === 'retiring').length, 1);
    // The previous key stays published token TTL + --consumer-cache-max (300 + 3600 s) by default.
    const retiring = list.find((k) => k.state === 'retiring')!;
    assert.ok(Math.abs(Date.parse(retiring.notAfter!) - Date.now() - 3_900_000) < 60_000, retiring.notAfter!);
    assert.match((await runCli(['keys', 'list', ...dd])).stdout, /^KID\s+STATE\s+BITS\s+CREATED\s+PUBLISHED\s+ACTIVATES\s+NOT_AFTER\n/);
    // A second rotation now would make a key sign that was published seconds ago: refused.
    const tooSoon = await runCli(['keys', 'rotate', ...dd]);
    assertBadInput(tooSoon, /was published \d+ s ago; a consumer that cached the JWKS before then .*Rotate from \S+Z, or force it now/);
    const pem = await runCli(['keys', 'export', '--format', 'pem', ...dd]);
    assert.match(pem.stdout, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
    const jwks = JSON.parse((await runCli(['keys', 'export', '--format', 'jwks', ...dd])).stdout) as { keys: Array<Record<string, string>> };
    assert.equal(jwks.keys.length, 3, 'active, next and retiring');
    for (const k of jwks.keys) assert.deepEqual(Object.keys(k).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    const one = JSON.parse((await runCli(['keys', 'export', '--format', 'jwks', '--kid', kid, ...dd])).stdout) as { keys: unknown[] };
    assert.equal(one.keys.length, 1);
    assertBadInput(await runCli(['keys', 'export', '--format', 'der', ...dd]), /--format/);
    assertBadInput(await runCli(['keys', 'export', '--kid', 'nope', ...dd]), /no published key/);
    assertBadInput(await runCli(['keys', 'rotate', '--bits', '1024', ...dd]), /bits/);
    assertBadInput(await runCli(['keys', 'rotate', '--grace', '60', ...dd]), /--grace was removed: the previous key stays published --token-ttl \+ --consumer-cache-max/);
    assertBadInput(await runCli(['keys', 'rotate', '--publish-delay', '0', ...dd]), /--publish-delay was removed: a next key is always published/);
    assertBadInput(await runCli(['keys', 'rotate', '--force', '--revoke-current', ...dd]), /exclude each other/);

    const api = await adminJson(gateway, 'GET', '/admin/keys');
    assert.equal(api.status, 200);
    assert.doesNotMatch(JSON.stringify(api.body), /PRIVATE|privateKey|"d"|"p"|"q"/);
    assert.ok((api.body as Array<{ state: string; publishedAt: string }>).some((k) => k.state === 'next' && k.publishedAt), 'GET /admin/keys shows the next key and when it was published');
    for (const [body, message] of [[{ publishDelay: 0 }, /publishDelay was removed/], [{ grace: 30 }, /grace was removed/], [{ force: 'yes' }, /force must be true or false/], [{ bits: 1000 }, /bits/], [{ when: 1 }, /unknown field/]] as const) {
      const refused = await adminJson(gateway, 'POST', '/admin/keys/rotate', body);
      assert.equal(refused.status, 400, JSON.stringify(body));
      assert.equal((refused.body as { code: string }).code, 'ERR_INVALID_INPUT');
      assert.match((refused.body as { error: string }).error, message);
    }
    const tooSoonByApi = await adminJson(gateway, 'POST', '/admin/keys/rotate', {});
    assert.equal(tooSoonByApi.status, 409);
    assert.equal((tooSoonByApi.body as { code: string }).code, 'ERR_ROTATION_TOO_SOON');
    const byApi = await adminJson(gateway, 'POST', '/admin/keys/rotate', { force: true });
    assert.equal(byApi.status, 201);
    const change = byApi.body as { active: { kid: string; state: string }; next: { kid: string; state: string }; replaced: Array<{ kid: string; state: string }> };
    assert.deepEqual([change.active.kid, change.active.state, change.next.state, change.replaced.map((k) => [k.kid, k.state])], [list.find((k) => k.state === 'next')!.kid, 'active', 'next', [[kid, 'retiring']]]);
    assert.doesNotMatch(JSON.stringify(byApi.body), /PRIVATE|privateKey/);
    const jwksNow = (await (await fetch(`${gateway.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    assert.equal(jwksNow.keys[0]!.kid, change.active.kid, 'the gateway serves the change at once after an API rotation, active key first');
    assert.ok(jwksNow.keys.some((k) => k.kid === change.next.kid));
    assert.equal((await adminJson(gateway, 'POST', '/admin/keys/rotate', undefined, basicAuth('nobody', 'x'))).status, 401);
  });
});

describe('CLI bad input without a server', () => {
  it('a missing store is bad input (exit 2) for every command but serve and keys import', async () => {
    const dd = ['--data-dir', path.join(tempDir(), 'missing')];
    for (const cmd of [['keys', 'rotate'], ['keys', 'list'], ['keys', 'export'], ['users', 'list'], ['users', 'set', 'x', '--roles', 'R'], ['users', 'delete', 'x'], ['proxy', 'get'], ['proxy', 'set', 'http://x.test'], ['proxy', 'disable'], ['token', 'mint', '--sub', 'x'], ['token', 'verify']]) {
      const res = await runCli([...cmd, ...dd], { input: 'a.b.c\n' });
      assertBadInput(res, /no store at/);
    }
    assert.equal(fs.existsSync(dd[1]!), false, 'nothing created');
  });

  it('unknown commands and options exit 2', async () => {
    assert.equal((await runCli(['nope'])).code, 2);
    assert.equal((await runCli(['users', 'list', '--bogus'])).code, 2);
    assert.equal((await runCli(['--version'])).code, 0);
  });
});
