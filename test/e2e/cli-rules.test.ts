/**
 * The CLI keeps the promises of docs/cli.md: the admin API's rules for users and roles, one
 * `jwtgate: …` line for errors (also when its output pipe closes), the environment it needs in
 * --help, and `token verify` reading standard input and naming the claim that failed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { OPTIONS } from '../../server/config.js';
import { adminJson, startGateway, type TestGateway } from '../helpers/gateway.js';
import { CLI } from '../helpers/paths.js';
import { runCli } from '../helpers/process.js';

/** Runs the CLI with its stdout pipe closed by the reader before the command writes (`| head -1` that already left). */
function runWithClosedStdout(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('CLI rules', () => {
  let gateway: TestGateway;
  let dd: string[];
  before(async () => {
    gateway = await startGateway({ args: ['--issuer', 'jwtgate'] });
    dd = ['--data-dir', gateway.dataDir];
  });
  after(() => gateway?.stop());

  it('users set NAME with neither --roles nor --password-stdin follows PUT {}: creates the user, leaves an existing one as it is', async () => {
    const created = await runCli(['users', 'set', 'bare', ...dd]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'created bare (no roles, no password)\n');
    const again = await runCli(['users', 'set', 'bare', ...dd]);
    assert.equal(again.stdout, 'updated bare (no roles, no password)\n');
    const api = await adminJson(gateway, 'PUT', '/admin/users/bare-api', {});
    assert.deepEqual([api.status, api.body], [201, { name: 'bare-api', roles: [], hasPassword: false }]);
  });

  it('role names are never trimmed: the CLI refuses what the API refuses, with the same message', async () => {
    for (const roles of [' a', 'a ', 'A, B', 'A,,B']) {
      const cli = await runCli(['users', 'set', 'roles-test', '--roles', roles, ...dd]);
      const api = await adminJson(gateway, 'PUT', '/admin/users/roles-test', { roles: roles.split(',') });
      assert.equal(api.status, 400, roles);
      assert.equal(cli.code, 2, roles);
      assert.equal(cli.stderr, `jwtgate: ${(api.body as { error: string }).error}\n`, roles);
    }
    assert.equal((await runCli(['users', 'list', '--json', ...dd])).stdout.includes('roles-test'), false, 'nothing was stored');
    assert.equal((await runCli(['token', 'mint', '--sub', 'x', '--roles', ' a', ...dd])).code, 2);
  });

  it('--help lists JWTGATE_KEY_ENCRYPTION_KEY, from the OPTIONS table, on exactly the commands that open or seal private keys', async () => {
    const kek = OPTIONS.find((o) => o.env === 'JWTGATE_KEY_ENCRYPTION_KEY')!;
    const needs = [['serve'], ['keys', 'rotate'], ['keys', 'import'], ['token', 'mint']];
    const without = [['keys', 'list'], ['keys', 'export'], ['users', 'set'], ['users', 'list'], ['proxy', 'set'], ['token', 'verify']];
    const helpOf = (cmds: string[][]) => Promise.all(cmds.map(async (cmd) => ({ cmd: cmd.join(' '), help: (await runCli([...cmd, '--help'])).stdout })));
    for (const { cmd, help } of await helpOf(needs)) {
      assert.match(help, /\nEnvironment:\n {2}JWTGATE_KEY_ENCRYPTION_KEY {2}/, cmd);
      assert.ok(help.replace(/\s+/g, ' ').includes(`${kek.description} (default ${kek.defaultText})`), `${cmd}: the description from OPTIONS`);
      if (cmd === 'serve') assert.match(help, /\n {2}JWTGATE_ADMIN_PASSWORD {6}password of the admin user/);
    }
    for (const { cmd, help } of await helpOf(without)) assert.doesNotMatch(help, /JWTGATE_KEY_ENCRYPTION_KEY/, cmd);
  });

  it('a closed output pipe (jwtgate users list | head -1) ends the command quietly with exit 0', async () => {
    for (const args of [['users', 'list', ...dd], ['keys', 'export', '--format', 'jwks', ...dd], ['--help']]) {
      const res = await runWithClosedStdout(args);
      assert.deepEqual(res, { code: 0, stderr: '' }, args.join(' '));
    }
  });

  it('token verify reads the token from standard input (- or no argument); an argument works but warns', async () => {
    const token = (await runCli(['token', 'mint', '--sub', 'Alice', '--roles', 'ROLE_USER', ...dd])).stdout.trim();
    for (const args of [['token', 'verify', ...dd], ['token', 'verify', '-', ...dd]]) {
      const res = await runCli(args, { input: `${token}\n` });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stderr, '');
      assert.equal((JSON.parse(res.stdout) as { sub: string }).sub, 'Alice');
    }
    const argument = await runCli(['token', 'verify', token, ...dd]);
    assert.equal(argument.code, 0);
    assert.equal(argument.stderr, 'jwtgate: warning: a token on the command line is readable by other local users (ps, /proc/<pid>/cmdline); pass - and give it on standard input\n');
    const empty = await runCli(['token', 'verify', ...dd], { input: '' });
    assert.deepEqual([empty.code, empty.stderr], [2, 'jwtgate: no token on standard input\n']);
  });

  it('token verify says which claim failed and why, not a library code', async () => {
    const token = (await runCli(['token', 'mint', '--sub', 'Alice', ...dd])).stdout.trim();
    const res = await runCli(['token', 'verify', '--issuer', 'someone-else', '--audience', 'reports', ...dd], { input: token });
    assert.equal(res.code, 2);
    assert.equal(res.stderr, 'jwtgate: the token does not verify: iss is "jwtgate", expected "someone-else" (--issuer); aud is missing, expected "reports" (--audience)\n');
    const [h, p] = token.split('.');
    const forged = await runCli(['token', 'verify', ...dd], { input: `${h}.${p}.${Buffer.alloc(256, 7).toString('base64url')}` });
    assert.match(forged.stderr, /^jwtgate: the token does not verify: the signature does not match the published key \S{43}: /);
    assert.doesNotMatch(res.stderr + forged.stderr, /ERR_JWT|ERR_JWS/);
  });

  it('disabling the proxy through the admin API is logged as proxy.disable, like the audit', async () => {
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: 'http://127.0.0.1:9' });
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: null });
    // The log line may reach the pipe just after the answer: wait for it (at most 2 s).
    const loggedLines = () => gateway.output().split('\n').filter((l) => l.includes('proxy target changed')).map((l) => JSON.parse(l) as { action: string; url: string | null });
    for (let i = 0; i < 40 && loggedLines().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(loggedLines().map((l) => [l.action, l.url]), [['proxy.set', 'http://127.0.0.1:9'], ['proxy.disable', null]]);
  });
});
