/**
 * The upstream and the gateway as benchmark targets: starting them (the gateway through its
 * real `serve` command), configuring the gateway (proxy target, users), checking every target.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_PASSWORD, BENCH_USER, HOST, basicAuth, progress, userName, userPassword, type Target } from './common.js';
import { httpRequest, waitFor200 } from './http-client.js';
import { freePort, spawnChild, waitForOutput, type Child } from './processes.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Repository root, from dist/scripts/bench/ (compiled) or scripts/bench/ (tsx). */
const ROOT = HERE.includes(`${path.sep}dist${path.sep}`) ? path.resolve(HERE, '../../..') : path.resolve(HERE, '../..');
const CLI = path.join(ROOT, 'dist/server/cli.js');
const UPSTREAM_SCRIPT = path.join(ROOT, 'dist/scripts/bench/upstream.js');

const ADMIN_PASSWORD = 'bench-admin-password';
/** Concurrent admin PUTs while creating users (each costs scrypt hashing and checking on the gateway). */
const USER_CREATION_CONCURRENCY = 8;

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function gatewayEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('JWTGATE_')) env[key] = value;
  env['JWTGATE_ADMIN_PASSWORD'] = ADMIN_PASSWORD;
  return env;
}

/** `node [nodeFlags] cli.js serve ...` arguments: the gateway, or a readiness run, on `port`. */
export function serveArgs(dataDir: string, port: number, nodeFlags: readonly string[]): string[] {
  return [...nodeFlags, CLI, 'serve', '--host', HOST, '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'];
}

export async function startUpstream(): Promise<{ child: Child; target: Target }> {
  if (!fs.existsSync(UPSTREAM_SCRIPT)) throw new Error(`${UPSTREAM_SCRIPT} is missing: run npm run build`);
  const child = spawnChild('upstream', process.execPath, [UPSTREAM_SCRIPT]);
  const match = await waitForOutput(child, /listening on (http:\/\/[^\s]+)/, 10_000);
  return { child, target: { name: 'direct', origin: match[1]!, prefix: '', pids: () => [child.pid] } };
}

/** `extraArgs`: more `serve` flags (the ALB's, for scenario h). */
export async function startGateway(dataDir: string, nodeFlags: readonly string[], extraArgs: readonly string[] = []): Promise<{ child: Child; target: Target }> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  const port = await freePort();
  const child = spawnChild('gateway', process.execPath, [...serveArgs(dataDir, port, nodeFlags), ...extraArgs], gatewayEnv());
  const origin = `http://${HOST}:${port}`;
  await waitFor200(`${origin}/healthz`, child, 30_000, 20);
  return { child, target: { name: 'gateway', origin, prefix: '/proxy', pids: () => [child.pid] } };
}

async function adminPut(origin: string, pathname: string, body: unknown): Promise<void> {
  const res = await httpRequest(`${origin}${pathname}`, {
    method: 'PUT',
    headers: { authorization: basicAuth('admin', ADMIN_PASSWORD), 'content-type': 'application/json' },
    body: JSON.stringify(body),
    timeoutMs: 60_000,
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${pathname} answered ${res.status}: ${res.body}`);
}

export async function configureGateway(origin: string, upstreamOrigin: string, users: number): Promise<void> {
  await adminPut(origin, '/admin/proxy', { url: upstreamOrigin });
  await adminPut(origin, `/admin/users/${BENCH_USER}`, { password: BENCH_PASSWORD, roles: ['ROLE_USER'] });
  const started = performance.now();
  let done = 0;
  await forEachLimit(Array.from({ length: users }, (_, i) => i), USER_CREATION_CONCURRENCY, async (i) => {
    await adminPut(origin, `/admin/users/${userName(i)}`, { password: userPassword(i), roles: ['ROLE_USER'] });
    done++;
    if (done % 100 === 0 || done === users) progress(`created ${done}/${users} users (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  });
}

/** Sanity: every target answers the 100-byte GET and counts a POST; the gateway accepts the users (and an ALB assertion, when given). */
export async function checkTargets(targets: readonly Target[], assertion: string | null): Promise<void> {
  for (const target of targets) {
    if (assertion !== null && target.name === 'gateway') {
      const res = await httpRequest(`${target.origin}${target.prefix}/x`, { headers: { 'x-amzn-oidc-data': assertion } });
      if (res.status !== 200) throw new Error(`gateway: a GET with an ALB assertion answered ${res.status}: ${res.body}`);
    }
    const get = await httpRequest(`${target.origin}${target.prefix}/x`, { headers: { authorization: basicAuth(BENCH_USER, BENCH_PASSWORD) } });
    if (get.status !== 200 || get.body.length !== 100) throw new Error(`${target.name}: GET answered ${get.status} with ${get.body.length} bytes`);
    const post = await httpRequest(`${target.origin}${target.prefix}/x`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    if (post.status !== 200 || post.body !== '5') throw new Error(`${target.name}: POST answered ${post.status}: ${post.body}`);
  }
}

/** Logs the bench user in through the login form; returns the session cookie (`name=value`). */
export async function sessionCookie(origin: string): Promise<string> {
  const res = await httpRequest(`${origin}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: BENCH_USER, password: BENCH_PASSWORD, next: '/' }).toString(),
  });
  const cookie = res.headers['set-cookie']?.[0]?.split(';')[0];
  if (res.status !== 303 || !cookie) throw new Error(`the bench user's login answered ${res.status}: ${res.body}`);
  return cookie;
}

