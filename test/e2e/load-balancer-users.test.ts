/**
 * The load balancer's users in the store (--auto-create-users) and the start-up rules of the
 * assertion options (--alb-bypass-validation guarded like --insecure, every problem at once),
 * against the real gateway and CLI.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../server/store/index.js';
import { adminJson, startGateway, type TestGateway } from '../helpers/gateway.js';
import { requestFrom } from '../helpers/from-address.js';
import { LocalAlb } from '../helpers/local-alb.js';
import { runCli, tempDir } from '../helpers/process.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';
import { upstreamIdentity } from '../helpers/upstream-token.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function storeRevision(dataDir: string): Promise<number> {
  const store = openStore({ dataDir, create: false });
  try {
    return await store.revision();
  } finally {
    await store.close();
  }
}

describe('load balancer: --auto-create-users', () => {
  let alb: LocalAlb;
  let upstream: Recorder;
  let gateway: TestGateway;
  const asCarol = (path: string) => requestFrom('127.0.0.1', `${gateway.url}${path}`, { headers: { 'x-amzn-oidc-data': alb.sign({ sub: 'carol', groups: 'reports, ops' }) } });

  before(async () => {
    alb = await LocalAlb.start();
    upstream = await startRecorder();
    gateway = await startGateway({ args: ['--trust-proxy', '127.0.0.1', '--alb-key-url', alb.keyUrl, '--alb-arn', alb.arn, '--roles-claim', 'groups', '--auto-create-users'] });
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    await alb?.close();
  });

  it('stores a new user once, however many first requests arrive together, and shows them to administrators', async () => {
    const revision = await storeRevision(gateway.dataDir);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => asCarol(`/proxy/first?i=${i}`)));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    assert.equal(await storeRevision(gateway.dataDir), revision + 1, 'one store write for 20 first requests');
    const users = (await adminJson(gateway, 'GET', '/admin/users')).body as { name: string; roles: string[]; hasPassword: boolean }[];
    assert.deepEqual(users.find((u) => u.name === 'carol'), { name: 'carol', roles: [], hasPassword: false });
    const audit = fs.readFileSync(path.join(gateway.dataDir, 'audit.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { actor: string; action: string; target: string });
    assert.deepEqual(audit.filter((e) => e.target === 'carol').map((e) => [e.actor, e.action]), [['assertion:alb', 'user.create']]);
    const forwarded = upstream.requests.find((r) => r.url === '/first?i=0')!;
    assert.deepEqual(await upstreamIdentity(gateway.url, forwarded), { sub: 'carol', authorities: ['ROLE_USER', 'ops', 'reports'] });
  });

  it('without --role-map: a group string is split at commas only, and a group named ROLE_ADMIN or ROLE_ANONYMOUS is not passed on', async () => {
    const token = alb.sign({ sub: 'dora', groups: 'Domain Admins, ROLE_ADMIN, role_anonymous, reports' });
    assert.equal((await requestFrom('127.0.0.1', `${gateway.url}/proxy/groups`, { headers: { 'x-amzn-oidc-data': token } })).status, 200);
    const forwarded = upstream.requests.find((r) => r.url === '/groups')!;
    assert.deepEqual(await upstreamIdentity(gateway.url, forwarded), { sub: 'dora', authorities: ['Domain Admins', 'ROLE_USER', 'reports'] });
  });

  it('writes nothing for a user it knows: later requests leave the store as it is', async () => {
    await asCarol('/proxy/warm');
    await new Promise((resolve) => setTimeout(resolve, 500)); // the poll has seen the creation
    const revision = await storeRevision(gateway.dataDir);
    for (let i = 0; i < 30; i++) assert.equal((await asCarol(`/proxy/again?i=${i}`)).status, 200);
    assert.equal(await storeRevision(gateway.dataDir), revision);
  });

  it('forwards the union of the mapped claim roles and the roles an administrator gives in the store', async () => {
    assert.equal((await adminJson(gateway, 'PUT', '/admin/users/carol', { roles: ['ROLE_AUDITOR'] })).status, 200);
    assert.equal((await asCarol('/proxy/after-grant')).status, 200);
    const forwarded = upstream.requests.find((r) => r.url === '/after-grant')!;
    assert.deepEqual(await upstreamIdentity(gateway.url, forwarded), { sub: 'carol', authorities: ['ROLE_AUDITOR', 'ROLE_USER', 'ops', 'reports'] });
    const whoami = await asCarol('/api/whoami');
    assert.deepEqual(JSON.parse(whoami.body).roles, ['ROLE_AUDITOR', 'ROLE_USER', 'ops', 'reports']);
  });

  it('creates the user again after an administrator deleted them (the load balancer still vouches for them)', async () => {
    assert.equal((await adminJson(gateway, 'DELETE', '/admin/users/carol')).status, 204);
    assert.equal((await asCarol('/proxy/after-delete')).status, 200);
    const forwarded = upstream.requests.find((r) => r.url === '/after-delete')!;
    assert.deepEqual((await upstreamIdentity(gateway.url, forwarded)).authorities, ['ROLE_USER', 'ops', 'reports'], 'the deleted roles are gone');
    const users = (await adminJson(gateway, 'GET', '/admin/users')).body as { name: string; roles: string[] }[];
    assert.deepEqual(users.find((u) => u.name === 'carol')?.roles, []);
  });
});

describe('load balancer: start-up rules', () => {
  const serve = (args: string[], env: Record<string, string> = {}) => runCli(['serve', '--port', '0', '--data-dir', tempDir(), ...args], { env: { JWTGATE_ADMIN_PASSWORD: 'admin-password-for-tests', ...env } });

  it('refuses --alb-bypass-validation on a non-loopback host (exit 2), as flag or variable, naming --allow-insecure-remote', async () => {
    const flag = await serve(['--host', '0.0.0.0', '--trust-proxy', '127.0.0.1', '--alb-bypass-validation']);
    assert.equal(flag.code, 2, flag.stderr);
    assert.match(flag.stderr, /--alb-bypass-validation believes any unsigned x-amzn-oidc-data: refused on the non-loopback host 0\.0\.0\.0 unless --allow-insecure-remote/);
    const env = await serve([], { JWTGATE_HOST: '0.0.0.0', JWTGATE_TRUST_PROXY: '127.0.0.1', JWTGATE_ALB_BYPASS_VALIDATION: 'true' });
    assert.equal(env.code, 2, env.stderr);
    assert.match(env.stderr, /refused on the non-loopback host/);
  });

  it('reports every problem of the assertion options at once (exit 2)', async () => {
    const res = await serve(['--alb-region', 'eu-west-1', '--role-map', 'admins=ROLE_ADMIN', '--identity-header', 'X_User=name', '--trust-proxy', '2']);
    assert.equal(res.code, 2, res.stderr);
    for (const problem of [/--alb-arn is required/, /--role-map needs --roles-claim/, /--identity-header must be a header name/, /not a hop count/]) assert.match(res.stderr, problem);
  });

  it('refuses a --trust-proxy range that trusts every peer, as it refuses a hop count (exit 2, every one reported)', async () => {
    const res = await serve(['--trust-proxy', '0.0.0.0/0,::/0,::ffff:0:0/96,10.0.0.0/16', '--alb-region', 'eu-west-1', '--alb-arn', 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/50dc6c495c0c9188']);
    assert.equal(res.code, 2, res.stderr);
    for (const entry of ['0.0.0.0/0 trusts every IPv4 peer', '::/0 trusts every peer', '::ffff:0:0/96 trusts every IPv4 peer']) assert.ok(res.stderr.includes(`--trust-proxy ${entry}`), `${entry}\n${res.stderr}`);
    assert.doesNotMatch(res.stderr, /10\.0\.0\.0\/16/);
  });

  it('refuses --trust-proxy ranges that trust every peer of a family together (exit 2)', async () => {
    const res = await serve(['--trust-proxy', '0.0.0.0/1,128.0.0.0/1,::ffff:0:0/97', '--alb-region', 'eu-west-1', '--alb-arn', 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/50dc6c495c0c9188']);
    assert.equal(res.code, 2, res.stderr);
    assert.ok(res.stderr.includes('--trust-proxy 0.0.0.0/1, 128.0.0.0/1, ::ffff:0:0/97 together trust every IPv4 peer (IPv4 peers are matched against IPv6 ranges as ::ffff:a.b.c.d)'), res.stderr);
  });

  it('warns loudly at start about a very broad --trust-proxy range, and about an ALB assertion accepted without --alb-issuer or --alb-client-id', async () => {
    const alb = await LocalAlb.start();
    const gateway = await startGateway({ args: ['--trust-proxy', '127.0.0.0/4', '--alb-key-url', alb.keyUrl, '--alb-arn', alb.arn] });
    try {
      const warnings = gateway.output().split('\n').filter((line) => line.includes('SECURITY WARNING')).map((line) => (JSON.parse(line) as { level: string; msg: string }));
      assert.equal(warnings.length, 2, gateway.output());
      assert.ok(warnings.every((w) => w.level === 'warn'), 'logged as warn');
      assert.match(warnings.map((w) => w.msg).join('\n'), /--trust-proxy 127\.0\.0\.0\/4 is a very broad range/);
      assert.match(warnings.map((w) => w.msg).join('\n'), /without --alb-issuer or --alb-client-id/);
    } finally {
      await gateway.stop();
      await alb.close();
    }
  });

  it('with --alb-bypass-validation on loopback: warns loudly at start and believes an unsigned token (development only)', async () => {
    const upstream = await startRecorder();
    const gateway = await startGateway({ args: ['--trust-proxy', '127.0.0.1', '--alb-bypass-validation', '--username-claim', 'preferred_username'] });
    try {
      assert.match(gateway.output(), /SECURITY WARNING: --alb-bypass-validation is on/);
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
      const unsigned = `${b64({ alg: 'none' })}.${b64({ preferred_username: 'dev-user', exp: Math.floor(Date.now() / 1000) + 60 })}.`;
      const res = await requestFrom('127.0.0.1', `${gateway.url}/proxy/dev`, { headers: { 'x-amzn-oidc-data': unsigned } });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(await upstreamIdentity(gateway.url, upstream.requests[0]!), { sub: 'dev-user', authorities: ['ROLE_USER'] });
      const expired = `${b64({ alg: 'none' })}.${b64({ preferred_username: 'dev-user', exp: Math.floor(Date.now() / 1000) - 600 })}.`;
      assert.equal((await requestFrom('127.0.0.1', `${gateway.url}/proxy/dev`, { headers: { 'x-amzn-oidc-data': expired } })).status, 401, 'exp is still checked');
    } finally {
      await gateway.stop();
      await upstream.close();
    }
  });
});
