#!/usr/bin/env node
/**
 * `npm run bench`: the gateway against references, on this machine, with the real processes.
 *
 *   upstream  plain node:http server in its own process (scripts/bench/upstream.ts)
 *   direct    the upstream itself (the ceiling)
 *   nginx     nginx proxying to the upstream, when an `nginx` binary exists (skipped otherwise)
 *   gateway   `jwtgate serve` (child process, temp data dir, real store and key)
 *
 * Scenarios, each run on every target in turn (short warm-up, then the measured run):
 *   a) anonymous GET  b) basic-auth GET, one user  c) basic-auth GET, N users in rotation
 *   d) POST 1 MiB bodies  e) one big streaming upload  f) one big streaming download
 * plus the time `jwtgate serve` takes to answer /healthz. Prints one table and the bars
 * (PASS/FAIL/SKIP); `--json` prints one JSON object instead. Exit code 0 whatever the bars say;
 * non-zero only when the benchmark itself broke.
 *
 * Options: --json, --duration SECONDS (10), --connections N (50), --quick (smoke test).
 */
import autocannon, { type AutocannonClient, type AutocannonOptions, type AutocannonRawResult, type AutocannonRequest } from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// ---------------------------------------------------------------- settings

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Repository root, from dist/scripts/ (compiled) or scripts/ (tsx). */
const ROOT = HERE.includes(`${path.sep}dist${path.sep}`) ? path.resolve(HERE, '../..') : path.resolve(HERE, '..');
const CLI = path.join(ROOT, 'dist/server/cli.js');
const UPSTREAM_SCRIPT = path.join(ROOT, 'dist/scripts/bench/upstream.js');

const HOST = '127.0.0.1';
const ADMIN_PASSWORD = 'bench-admin-password';
const BENCH_USER = 'bench';
const BENCH_PASSWORD = 'bench-password-bench';
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Concurrent admin PUTs while creating users (each costs scrypt hashing and checking on the gateway). */
const USER_CREATION_CONCURRENCY = 8;
const READINESS_RUNS = 5;

interface Settings {
  json: boolean;
  quick: boolean;
  durationS: number;
  warmupS: number;
  /** Extra warm-up of every target before the first scenario (JIT, pools). */
  initialWarmupS: number;
  connections: number;
  users: number;
  bigBytes: number;
  postBytes: number;
}

function usage(): string {
  return [
    'usage: node dist/scripts/bench.js [--json] [--duration SECONDS] [--connections N] [--quick]',
    '  --json             print one JSON object instead of the table',
    '  --duration SECONDS measured run per target and scenario (default 10; 2 with --quick)',
    '  --connections N    concurrent connections of the load generator (default 50)',
    '  --quick            smoke test: short runs, 100 users, 64 MiB transfers',
  ].join('\n');
}

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      connections: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  const quick = values.quick === true;
  const durationS = values.duration === undefined ? (quick ? 2 : 10) : Number(values.duration);
  if (!Number.isFinite(durationS) || durationS < 1 || durationS > 600) throw new UsageError(`--duration must be a number of seconds between 1 and 600, got ${JSON.stringify(values.duration)}`);
  const connections = values.connections === undefined ? 50 : Number(values.connections);
  if (!Number.isSafeInteger(connections) || connections < 1 || connections > 1000) throw new UsageError(`--connections must be an integer between 1 and 1000, got ${JSON.stringify(values.connections)}`);
  return {
    json: values.json === true,
    quick,
    durationS,
    warmupS: quick ? 1 : 2,
    initialWarmupS: quick ? 2 : 5,
    connections,
    users: quick ? 100 : 1000,
    bigBytes: quick ? 64 * MiB : GiB,
    postBytes: MiB,
  };
}

class UsageError extends Error {}

// ---------------------------------------------------------------- logging, small helpers

const startedAt = performance.now();
function progress(message: string): void {
  process.stderr.write(`[bench +${((performance.now() - startedAt) / 1000).toFixed(1)}s] ${message}\n`);
}

function basicAuth(name: string, password: string): string {
  return `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
}

function userName(i: number): string {
  return `u${i}`;
}

function userPassword(i: number): string {
  return `bench-password-${i}`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

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

// ---------------------------------------------------------------- child processes

interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The last 32 KiB the process printed (stdout + stderr). */
  output(): string;
  alive(): boolean;
  exited: Promise<void>;
}

const children = new Set<Child>();
let tempRoot: string | null = null;

function spawnChild(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Child {
  // stdin is a pipe we never close: the upstream exits when it sees EOF (we died).
  const proc = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 64 * 1024) out = out.slice(-32 * 1024);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  proc.stdin!.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const child: Child = {
    name,
    proc,
    pid: proc.pid,
    output: () => out.slice(-32 * 1024),
    alive: () => proc.exitCode === null && proc.signalCode === null,
    exited,
  };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

/** Processes the measurements depend on: a crash of one of them ends the benchmark with its output. */
const essential = new Set<Child>();

function checkEssential(): void {
  for (const child of essential) {
    if (!child.alive()) {
      const { exitCode, signalCode } = child.proc;
      throw new Error(`${child.name} (pid ${child.pid}) died during the benchmark (exit code ${exitCode}, signal ${signalCode}); its last output:\n${child.output() || '(nothing)'}`);
    }
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone (bounded). */
async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  essential.delete(child);
  if (child.alive()) child.proc.kill('SIGTERM');
  const timedOut = await Promise.race([child.exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut && child.alive()) {
    child.proc.kill('SIGKILL');
    await Promise.race([child.exited, sleep(2_000)]);
  }
  children.delete(child);
}

async function waitForOutput(child: Child, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const match = child.output().match(pattern);
    if (match) return match;
    if (!child.alive()) throw new Error(`${child.name} exited before it was ready:\n${child.output()}`);
    await sleep(20);
  }
  throw new Error(`${child.name} not ready after ${timeoutMs} ms:\n${child.output()}`);
}

// ---------------------------------------------------------------- HTTP helpers

interface SimpleResponse {
  status: number;
  body: string;
}

function httpRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: options.timeoutMs ?? 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${options.method ?? 'GET'} ${url} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Polls `url` every `intervalMs` until it answers 200; fails early when `child` exits. */
async function waitFor200(url: string, child: Child | null, timeoutMs: number, intervalMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child && !child.alive()) throw new Error(`${child.name} exited before answering ${url}:\n${child.output()}`);
    try {
      const res = await httpRequest(url, { timeoutMs: 1_000 });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(intervalMs);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms${child ? `:\n${child.output()}` : ''}`);
}

// ---------------------------------------------------------------- memory

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** `pid` and its direct children (nginx: master and workers). */
function processTree(pid: number): number[] {
  try {
    const list = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return [pid, ...(list === '' ? [] : list.split(/\s+/).map(Number))];
  } catch {
    // Kernel without CONFIG_PROC_CHILDREN: scan /proc for the parent pid.
    const found = [pid];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pid) found.push(Number(entry));
      } catch {
        // gone
      }
    }
    return found;
  }
}

/** Polls the summed VmRSS of some processes every 50 ms; `stop` returns the peak in KiB. */
class RssSampler {
  readonly #pids: () => number[];
  readonly #timer: NodeJS.Timeout;
  #peakKiB = 0;
  readonly firstKiB: number;

  constructor(pids: () => number[]) {
    this.#pids = pids;
    this.firstKiB = this.#sample();
    this.#timer = setInterval(() => this.#sample(), 50);
  }

  #sample(): number {
    let total = 0;
    for (const pid of this.#pids()) total += statusKiB(pid, 'VmRSS') ?? 0;
    this.#peakKiB = Math.max(this.#peakKiB, total);
    return total;
  }

  stop(): number {
    clearInterval(this.#timer);
    this.#sample();
    return this.#peakKiB;
  }
}

const mib = (kib: number): number => kib / 1024;

/** utime + stime of a process, clock ticks. */
function cpuTicks(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/**
 * Machine-wide CPU ticks from /proc/stat: user + nice + system + irq + softirq (a process's own
 * stime includes the softirq work done in its context, e.g. loopback delivery), and steal.
 */
function machineTicks(): { busy: number; steal: number } {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { busy: fields[0]! + fields[1]! + fields[2]! + (fields[5] ?? 0) + (fields[6] ?? 0), steal: fields[7] ?? 0 };
  } catch {
    return { busy: 0, steal: 0 };
  }
}

/**
 * CPU used during the measured runs by processes that are not part of the benchmark (other
 * jobs on the machine), and VM steal: both make the numbers unreliable. Ticks are 1/100 s.
 */
class ForeignCpu {
  #foreignTicks = 0;
  #stealTicks = 0;
  #elapsedMs = 0;
  #worstShare = 0;
  #worstLabel = '';

  #own(): number {
    return cpuTicks(process.pid) + [...essential].flatMap((child) => processTree(child.pid)).reduce((acc, pid) => acc + cpuTicks(pid), 0);
  }

  async measure<T>(label: string, run: () => Promise<T>): Promise<T> {
    const machine = machineTicks();
    const own = this.#own();
    const started = performance.now();
    const result = await run();
    const elapsedMs = performance.now() - started;
    const after = machineTicks();
    const foreign = Math.max(0, after.busy - machine.busy - (this.#own() - own));
    this.#foreignTicks += foreign;
    this.#stealTicks += after.steal - machine.steal;
    this.#elapsedMs += elapsedMs;
    const share = elapsedMs > 0 ? foreign / ((elapsedMs / 10) * os.cpus().length) : 0;
    if (share > this.#worstShare) {
      this.#worstShare = share;
      this.#worstLabel = label;
    }
    return result;
  }

  summary(): { foreignShare: number; stealShare: number; worstShare: number; worstRun: string } {
    const capacity = (this.#elapsedMs / 10) * os.cpus().length;
    return {
      foreignShare: capacity > 0 ? this.#foreignTicks / capacity : 0,
      stealShare: capacity > 0 ? this.#stealTicks / capacity : 0,
      worstShare: this.#worstShare,
      worstRun: this.#worstLabel,
    };
  }
}

const foreignCpu = new ForeignCpu();

const SETTLE_LIMIT_MS = 20_000;
const settleStats = { waits: 0, totalMs: 0, timeouts: 0 };

/**
 * Waits until the upstream, nginx and the gateway are idle (under ~10% of a core over 200 ms),
 * so that work left over from one run (e.g. password checks still queued for clients that are
 * gone) does not slow down the next run, which may be another target's. Bounded.
 */
async function settle(): Promise<void> {
  const started = performance.now();
  const pids = (): number[] => [...essential].flatMap((child) => processTree(child.pid));
  const total = (): number => pids().reduce((acc, pid) => acc + cpuTicks(pid), 0);
  while (performance.now() - started < SETTLE_LIMIT_MS) {
    const before = total();
    await sleep(200);
    if (total() - before <= 2) {
      const waited = performance.now() - started;
      if (waited > 1_000) progress(`  (waited ${(waited / 1000).toFixed(1)} s for the processes to become idle)`);
      settleStats.waits++;
      settleStats.totalMs += waited;
      return;
    }
  }
  settleStats.timeouts++;
  progress(`  (processes still busy after ${SETTLE_LIMIT_MS / 1000} s; going on)`);
}

// ---------------------------------------------------------------- targets

type TargetName = 'direct' | 'nginx' | 'gateway';

interface Target {
  name: TargetName;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Prefix of the proxied paths: '' (direct) or '/proxy'. */
  prefix: string;
  /** Processes whose RSS is reported for this target. */
  pids(): number[];
}

function gatewayEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('JWTGATE_')) env[key] = value;
  env['JWTGATE_ADMIN_PASSWORD'] = ADMIN_PASSWORD;
  return env;
}

function serveArgs(dataDir: string, port: number): string[] {
  return [...(process.env['BENCH_NODE_FLAGS']?.split(' ').filter(Boolean) ?? []), CLI, 'serve', '--host', HOST, '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'];
}

async function startUpstream(): Promise<{ child: Child; target: Target }> {
  if (!fs.existsSync(UPSTREAM_SCRIPT)) throw new Error(`${UPSTREAM_SCRIPT} is missing: run npm run build`);
  const child = spawnChild('upstream', process.execPath, [UPSTREAM_SCRIPT]);
  const match = await waitForOutput(child, /listening on (http:\/\/[^\s]+)/, 10_000);
  return { child, target: { name: 'direct', origin: match[1]!, prefix: '', pids: () => [child.pid] } };
}

async function startGateway(dataDir: string): Promise<{ child: Child; target: Target }> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  const port = await freePort();
  const child = spawnChild('gateway', process.execPath, serveArgs(dataDir, port), gatewayEnv());
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

async function configureGateway(origin: string, upstreamOrigin: string, users: number): Promise<void> {
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

// ---------------------------------------------------------------- nginx

interface NginxBinary {
  path: string;
  version: string;
  /** `nginx -V` output: configure arguments. */
  configure: string;
}

function findNginx(): NginxBinary | null {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'nginx');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
    } catch {
      continue;
    }
    const info = spawnSync(candidate, ['-V'], { encoding: 'utf8', timeout: 10_000 });
    const text = `${info.stdout ?? ''}${info.stderr ?? ''}`;
    const version = text.match(/nginx version: nginx\/([^\s]+)/)?.[1];
    if (version) return { path: candidate, version, configure: text };
  }
  return null;
}

function versionAtLeast(version: string, minimum: readonly number[]): boolean {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < minimum.length; i++) {
    const v = parts[i] ?? 0;
    if (v !== minimum[i]) return v > minimum[i]!;
  }
  return true;
}

function nginxConfig(dir: string, port: number, upstreamOrigin: string, nginx: NginxBinary): string {
  const upstream = new URL(upstreamOrigin);
  const tempPath = (directive: string, module: string): string =>
    nginx.configure.includes(`--without-http_${module}_module`) ? '' : `  ${directive} ${path.join(dir, `${module}_temp`)};\n`;
  // As root, the workers would switch to `nobody`: keep them as the current user.
  const user = process.getuid?.() === 0 ? `user ${os.userInfo().username};\n` : '';
  return `${user}worker_processes 1;
daemon off;
master_process on;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${path.join(dir, 'client_body_temp')};
  proxy_temp_path ${path.join(dir, 'proxy_temp')};
${tempPath('fastcgi_temp_path', 'fastcgi')}${tempPath('uwsgi_temp_path', 'uwsgi')}${tempPath('scgi_temp_path', 'scgi')}  client_max_body_size 0;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  upstream bench_upstream {
    server ${upstream.host};
    keepalive 64;
  }
  server {
    listen ${HOST}:${port};
    location /proxy/ {
      proxy_pass http://bench_upstream/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # Stream both ways, as the gateway does.
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
`;
}

async function startNginx(nginx: NginxBinary, workDir: string, upstreamOrigin: string): Promise<{ child: Child; target: Target } | { note: string }> {
  const dir = path.join(workDir, 'nginx');
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfig(dir, port, upstreamOrigin, nginx));
  // -e (early error log) exists since nginx 1.19.5; without it nginx may warn about /var/log/nginx.
  const args = ['-p', dir, '-c', conf, ...(versionAtLeast(nginx.version, [1, 19, 5]) ? ['-e', path.join(dir, 'error.log')] : [])];
  const test = spawnSync(nginx.path, ['-t', ...args], { encoding: 'utf8', timeout: 10_000 });
  if (test.status !== 0) return { note: `nginx skipped: its config test failed: ${`${test.stderr ?? ''}${test.stdout ?? ''}`.trim().split('\n').slice(-3).join(' | ')}` };
  const child = spawnChild('nginx', nginx.path, args);
  try {
    await waitFor200(`http://${HOST}:${port}/proxy/x`, child, 10_000, 20);
  } catch (err) {
    await stopChild(child, 3_000);
    let log = '';
    try {
      log = fs.readFileSync(path.join(dir, 'error.log'), 'utf8').trim().split('\n').slice(-3).join(' | ');
    } catch {
      // no log
    }
    return { note: `nginx skipped: it did not start (${(err as Error).message.split('\n')[0]}${log ? `; error.log: ${log}` : ''})` };
  }
  return { child, target: { name: 'nginx', origin: `http://${HOST}:${port}`, prefix: '/proxy', pids: () => processTree(child.pid) } };
}

// ---------------------------------------------------------------- load runs (autocannon)

type ScenarioId = 'a' | 'b' | 'c' | 'c0' | 'd' | 'e' | 'f';

interface LoadScenario {
  id: 'a' | 'b' | 'c' | 'd';
  label: string;
  method: 'GET' | 'POST';
  body?: Buffer;
  /** Authorization per connection: none, the one bench user, or every user in rotation. */
  auth: 'none' | 'single' | 'rotation';
}

interface Row {
  scenario: ScenarioId;
  label: string;
  target: TargetName;
  unit: 'req/s' | 'MiB/s';
  rate: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** non-2xx responses + socket errors (timeouts included); for transfers 1 when it failed. */
  errors: number;
  peakRssMiB: number | null;
  ratioToDirect: number | null;
  ratioToNginx: number | null;
  details: Record<string, number | string | null>;
}

/**
 * Authorization of every user, split so that connection k cycles through users k, k+C, k+2C,
 * ... (C connections): every user in rotation, no two connections on the same user at once.
 */
function rotationClientSetup(auths: readonly string[], connections: number): (client: AutocannonClient) => void {
  let next = 0;
  return (client) => {
    const k = next++ % Math.min(connections, auths.length);
    const requests: AutocannonRequest[] = [];
    for (let i = k; i < auths.length; i += Math.min(connections, auths.length)) requests.push({ headers: { authorization: auths[i]! } });
    client.setRequests(requests);
  };
}

function loadOptions(scenario: LoadScenario, target: Target, connections: number, auths: readonly string[]): AutocannonOptions {
  const headers: Record<string, string> = {};
  if (scenario.auth === 'single') headers['authorization'] = basicAuth(BENCH_USER, BENCH_PASSWORD);
  if (scenario.body) headers['content-type'] = 'application/octet-stream';
  const options: AutocannonOptions = { url: `${target.origin}${target.prefix}/x`, connections, method: scenario.method, headers, timeout: 10 };
  if (scenario.body) options.body = scenario.body;
  if (scenario.auth === 'rotation') options.setupClient = rotationClientSetup(auths, connections);
  return options;
}

/** How often autocannon samples, and so how precisely a run stops after its duration, ms. */
const SAMPLE_INTERVAL_MS = 250;

/** One autocannon run, with a watchdog in case it does not stop by itself; raw, to be aggregated. */
async function cannon(options: AutocannonOptions, hardLimitMs: number): Promise<AutocannonRawResult> {
  const instance = autocannon({ ...options, sampleInt: SAMPLE_INTERVAL_MS, skipAggregateResult: true });
  const watchdog = setTimeout(() => instance.stop(), hardLimitMs);
  try {
    return await instance;
  } finally {
    clearTimeout(watchdog);
  }
}

function rowOf(scenario: { id: ScenarioId; label: string }, target: Target, raw: AutocannonRawResult, peakKiB: number, extra: Record<string, number | string | null> = {}): Row {
  const result = autocannon.aggregateResult([raw], { url: `${target.origin}${target.prefix}/x` });
  const ok = raw['2xx'];
  const statuses = Object.entries(raw.statusCodeStats)
    .map(([code, { count }]) => `${code}:${count}`)
    .join(' ');
  return {
    scenario: scenario.id,
    label: scenario.label,
    target: target.name,
    unit: 'req/s',
    rate: raw.duration > 0 ? ok / raw.duration : 0,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: raw.non2xx + raw.errors,
    peakRssMiB: mib(peakKiB),
    ratioToDirect: null,
    ratioToNginx: null,
    details: {
      ...extra,
      requests2xx: ok,
      non2xx: raw.non2xx,
      socketErrors: raw.errors,
      timeouts: raw.timeouts,
      measuredSeconds: raw.duration,
      latencyMeanMs: result.latency.mean,
      latencyMaxMs: result.latency.max,
      statusCodes: statuses,
    },
  };
}

/**
 * One scenario on every target in turn (direct, nginx, gateway): a warm-up, then the measured
 * run. For the gateway in the rotation scenario every user first logs in once (cold password
 * checks, reported as its own row). Before each run the processes are left to become idle.
 */
async function measureScenario(scenario: LoadScenario, targets: readonly Target[], settings: Settings, auths: readonly string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const target of targets) {
    let primedAt: number | null = null;
    if (scenario.auth === 'rotation' && target.name === 'gateway') {
      primedAt = performance.now();
      rows.push(await primeUsers(target, settings, auths));
    }
    progress(`${scenario.id}) ${scenario.label} / ${target.name}: warm-up ${settings.warmupS} s, then ${settings.durationS} s measured`);
    await settle();
    await cannon({ ...loadOptions(scenario, target, settings.connections, auths), duration: settings.warmupS }, (settings.warmupS + 30) * 1000);
    checkEssential();
    await settle();
    const options = { ...loadOptions(scenario, target, settings.connections, auths), duration: settings.durationS };
    const sampler = new RssSampler(target.pids);
    const result = await foreignCpu.measure(`${scenario.id}) ${target.name}`, () => cannon(options, (settings.durationS + 30) * 1000));
    const peak = sampler.stop();
    checkEssential();
    const extra: Record<string, number> = primedAt === null ? {} : { secondsFromFirstLoginsToEnd: (performance.now() - primedAt) / 1000 };
    const row = rowOf(scenario, target, result, peak, extra);
    progress(`  ${target.name}: ${Math.round(row.rate)} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, errors ${row.errors}, peak RSS ${row.peakRssMiB?.toFixed(1)} MiB`);
    rows.push(row);
  }
  return rows;
}

/** Every user logs in once (cold password checks), one request per user. */
async function primeUsers(target: Target, settings: Settings, auths: readonly string[]): Promise<Row> {
  progress(`c) first login of ${auths.length} users / ${target.name}`);
  const connections = Math.min(settings.connections, auths.length);
  await settle();
  const sampler = new RssSampler(target.pids);
  const started = performance.now();
  const result = await cannon(
    { url: `${target.origin}${target.prefix}/x`, connections, amount: auths.length, timeout: 30, setupClient: rotationClientSetup(auths, connections) },
    Math.max(120_000, auths.length * 200),
  );
  const seconds = (performance.now() - started) / 1000;
  const peak = sampler.stop();
  const row = rowOf({ id: 'c0', label: `first login, ${auths.length} users (cold)` }, target, result, peak, { seconds });
  row.rate = result['2xx'] / seconds;
  progress(`  ${auths.length} first logins in ${seconds.toFixed(1)} s (${Math.round(row.rate)} req/s), errors ${row.errors}`);
  return row;
}

// ---------------------------------------------------------------- big transfers (node:http)

interface TransferResult {
  seconds: number;
  bytes: number;
  status: number;
  ok: boolean;
  problem: string | null;
}

/** Resolves on 'drain' or 'close', whichever comes first, without leaking listeners. */
function drainOrClose(req: http.ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

/** POSTs `total` bytes, writing one reusable 1 MiB buffer with back-pressure; the upstream answers the count. */
function upload(url: string, total: number, timeoutMs: number): Promise<TransferResult> {
  const chunk = Buffer.alloc(MiB, 'u');
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream', 'content-length': String(total) } });
    const timer = setTimeout(() => req.destroy(new Error(`upload to ${url} timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      res.on('end', () => {
        clearTimeout(timer);
        const seconds = (performance.now() - started) / 1000;
        const status = res.statusCode ?? 0;
        const ok = status === 200 && body.trim() === String(total);
        resolve({ seconds, bytes: total, status, ok, problem: ok ? null : `status ${status}, upstream counted ${JSON.stringify(body.slice(0, 100))}` });
      });
    });
    void (async () => {
      for (let written = 0; written < total && !req.destroyed; ) {
        const piece = total - written >= chunk.length ? chunk : chunk.subarray(0, total - written);
        written += piece.length;
        if (!req.write(piece)) await drainOrClose(req);
      }
      if (!req.destroyed) req.end();
    })();
  });
}

/** GETs `url` and counts the body bytes. */
function download(url: string, expected: number, timeoutMs: number): Promise<TransferResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => {
        bytes += d.length;
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      res.on('end', () => {
        clearTimeout(timer);
        const status = res.statusCode ?? 0;
        const ok = status === 200 && bytes === expected;
        resolve({ seconds: (performance.now() - started) / 1000, bytes, status, ok, problem: ok ? null : `status ${status}, ${bytes} of ${expected} bytes` });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`download from ${url} timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function sizeLabel(bytes: number): string {
  return bytes >= GiB && bytes % GiB === 0 ? `${bytes / GiB} GiB` : `${Math.round(bytes / MiB)} MiB`;
}

/** Each big transfer is repeated this many times per target (interleaved); the median rate is reported. */
const TRANSFER_REPEATS = 3;

interface TransferSample {
  result: TransferResult;
  peakKiB: number;
  beforeKiB: number;
}

async function transferOnce(kind: 'e' | 'f', target: Target, bytes: number): Promise<TransferSample> {
  // Generous bound: 20 MiB/s at least.
  const timeoutMs = 60_000 + (bytes / (20 * MiB)) * 1000;
  checkEssential();
  await settle();
  const sampler = new RssSampler(target.pids);
  const result = await foreignCpu.measure(`${kind}) ${target.name}`, () =>
    kind === 'e' ? upload(`${target.origin}${target.prefix}/upload`, bytes, timeoutMs) : download(`${target.origin}${target.prefix}/big?bytes=${bytes}`, bytes, timeoutMs),
  );
  const peakKiB = sampler.stop();
  checkEssential();
  progress(`  ${target.name}: ${(result.bytes / MiB / result.seconds).toFixed(1)} MiB/s in ${result.seconds.toFixed(2)} s, peak RSS ${mib(peakKiB).toFixed(1)} MiB (before: ${mib(sampler.firstKiB).toFixed(1)} MiB)${result.problem ? `, FAILED: ${result.problem}` : ''}`);
  return { result, peakKiB, beforeKiB: sampler.firstKiB };
}

/**
 * One streaming upload (e) or download (f) of `bytes` per target and repetition, the targets
 * interleaved; per target the median rate, the highest RSS peak and the RSS before the first one.
 */
async function measureTransfers(kind: 'e' | 'f', targets: readonly Target[], bytes: number): Promise<Row[]> {
  const label = kind === 'e' ? `upload ${sizeLabel(bytes)}` : `download ${sizeLabel(bytes)}`;
  const samples = new Map<TargetName, TransferSample[]>(targets.map((t) => [t.name, []]));
  for (let i = 0; i < TRANSFER_REPEATS; i++) {
    progress(`${kind}) ${label}, round ${i + 1}/${TRANSFER_REPEATS}`);
    for (const target of targets) samples.get(target.name)!.push(await transferOnce(kind, target, bytes));
  }
  return targets.map((target) => {
    const runs = samples.get(target.name)!;
    const rates = runs.map((r) => (r.result.ok ? r.result.bytes / MiB / r.result.seconds : 0));
    const failed = runs.filter((r) => !r.result.ok);
    return {
      scenario: kind,
      label,
      target: target.name,
      unit: 'MiB/s',
      rate: median(rates),
      p50Ms: null,
      p99Ms: null,
      errors: failed.length,
      peakRssMiB: mib(Math.max(...runs.map((r) => r.peakKiB))),
      ratioToDirect: null,
      ratioToNginx: null,
      details: {
        bytes,
        transfers: runs.length,
        ratesMiBs: rates.map((r) => r.toFixed(1)).join(' '),
        secondsEach: runs.map((r) => r.result.seconds.toFixed(2)).join(' '),
        rssBeforeMiB: mib(runs[0]!.beforeKiB),
        problem: failed[0]?.result.problem ?? null,
      },
    } satisfies Row;
  });
}

// ---------------------------------------------------------------- serve readiness

interface Readiness {
  runsMs: number[];
  warmRunMs: number;
  medianMs: number;
}

async function readinessOnce(dataDir: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawnChild('serve (readiness)', process.execPath, serveArgs(dataDir, port), gatewayEnv());
  try {
    await waitFor200(`http://${HOST}:${port}/healthz`, child, 15_000, 10);
    return performance.now() - started;
  } finally {
    await stopChild(child, 10_000);
  }
}

async function measureReadiness(dataDir: string): Promise<Readiness> {
  progress(`serve readiness: 1 warm run + ${READINESS_RUNS} measured`);
  const warmRunMs = await readinessOnce(dataDir);
  const runsMs: number[] = [];
  for (let i = 0; i < READINESS_RUNS; i++) runsMs.push(await readinessOnce(dataDir));
  const medianMs = median(runsMs);
  progress(`  median ${medianMs.toFixed(0)} ms (${runsMs.map((ms) => ms.toFixed(0)).join(', ')})`);
  return { runsMs, warmRunMs, medianMs };
}

// ---------------------------------------------------------------- bars

interface Bar {
  name: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
}

function findRow(rows: readonly Row[], scenario: ScenarioId, target: TargetName): Row | undefined {
  return rows.find((r) => r.scenario === scenario && r.target === target);
}

function must(row: Row | undefined, what: string): Row {
  if (!row) throw new Error(`missing result: ${what}`);
  return row;
}

const fmtRate = (n: number): string => String(Math.round(n));
const fmtRatio = (n: number): string => n.toFixed(2);

function computeBars(rows: readonly Row[], readiness: Readiness, settings: Settings): Bar[] {
  const bars: Bar[] = [];
  const check = (name: string, pass: boolean, detail: string): void => {
    bars.push({ name, status: pass ? 'PASS' : 'FAIL', detail });
  };
  const gwA = must(findRow(rows, 'a', 'gateway'), 'a) gateway');
  const gwB = must(findRow(rows, 'b', 'gateway'), 'b) gateway');
  const gwC = must(findRow(rows, 'c', 'gateway'), 'c) gateway');
  const directA = must(findRow(rows, 'a', 'direct'), 'a) direct');
  const nginxA = findRow(rows, 'a', 'nginx');

  const bar1 = 'basic-auth user GET >= 0.45 x nginx (anonymous GET through nginx)';
  if (nginxA) {
    const ratio = gwB.rate / nginxA.rate;
    check(bar1, ratio >= 0.45, `gateway ${fmtRate(gwB.rate)} req/s vs nginx ${fmtRate(nginxA.rate)} req/s: ${fmtRatio(ratio)} x (needs >= 0.45, i.e. >= ${fmtRate(0.45 * nginxA.rate)} req/s)`);
  } else {
    bars.push({ name: bar1, status: 'SKIP', detail: 'no nginx reference on this machine' });
  }

  const selfRatio = gwB.rate / gwA.rate;
  check('basic-auth user GET >= 0.9 x gateway anonymous GET', selfRatio >= 0.9, `${fmtRate(gwB.rate)} vs ${fmtRate(gwA.rate)} req/s: ${fmtRatio(selfRatio)} x (needs >= 0.90)`);

  const p99Limit = (directA.p99Ms ?? 0) + 3;
  check(
    `gateway p99 <= direct p99 + 3 ms (anonymous GET, ${settings.connections} connections${settings.connections === 50 ? '' : '; the bar is defined at 50'})`,
    (gwA.p99Ms ?? Infinity) <= p99Limit,
    `gateway p99 ${gwA.p99Ms} ms vs direct p99 ${directA.p99Ms} ms + 3 = ${p99Limit} ms (p50 ${gwA.p50Ms} vs ${directA.p50Ms} ms)`,
  );

  for (const kind of ['e', 'f'] as const) {
    const gw = must(findRow(rows, kind, 'gateway'), `${kind}) gateway`);
    const direct = must(findRow(rows, kind, 'direct'), `${kind}) direct`);
    const ratio = gw.rate / direct.rate;
    const rss = gw.peakRssMiB ?? Infinity;
    const before = gw.details['rssBeforeMiB'];
    check(
      `${gw.label}: gateway peak RSS <= 120 MiB and throughput >= 0.5 x direct`,
      gw.errors === 0 && rss <= 120 && ratio >= 0.5,
      `peak RSS ${rss.toFixed(1)} MiB${typeof before === 'number' ? ` (${before.toFixed(1)} MiB before the transfer)` : ''}; ${gw.rate.toFixed(1)} vs direct ${direct.rate.toFixed(1)} MiB/s (medians of ${TRANSFER_REPEATS}): ${fmtRatio(ratio)} x${gw.errors === 0 ? '' : `; transfer FAILED: ${String(gw.details['problem'])}`}`,
    );
  }

  const rotationRatio = gwC.rate / gwB.rate;
  check(`${settings.users} users in rotation >= 0.8 x single user (gateway)`, rotationRatio >= 0.8, `${fmtRate(gwC.rate)} vs ${fmtRate(gwB.rate)} req/s: ${fmtRatio(rotationRatio)} x (needs >= 0.80)`);

  check(`serve ready <= 1.5 s (median of ${READINESS_RUNS})`, readiness.medianMs <= 1500, `median ${readiness.medianMs.toFixed(0)} ms (runs: ${readiness.runsMs.map((ms) => ms.toFixed(0)).join(', ')} ms; warm-up run ${readiness.warmRunMs.toFixed(0)} ms)`);
  return bars;
}

// ---------------------------------------------------------------- report

interface Machine {
  cpu: string;
  cores: number;
  node: string;
  nginx: string | null;
  os: string;
  loadGenerator: string;
}

function autocannonVersion(): string {
  try {
    const file = createRequire(import.meta.url).resolve('autocannon/package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function renderTable(rows: readonly Row[]): string {
  const header = ['target', 'scenario', 'req/s (MiB/s)', 'p50 ms', 'p99 ms', 'errors', 'peak RSS MiB', 'x direct', 'x nginx'];
  const cells = rows.map((r) => [
    r.target,
    `${r.scenario === 'c0' ? 'c*' : r.scenario}) ${r.label}`,
    r.unit === 'req/s' ? fmtRate(r.rate) : `${r.rate.toFixed(1)} MiB/s`,
    r.p50Ms === null ? '-' : String(r.p50Ms),
    r.p99Ms === null ? '-' : String(r.p99Ms),
    String(r.errors),
    r.peakRssMiB === null ? '-' : r.peakRssMiB.toFixed(1),
    r.ratioToDirect === null ? '-' : fmtRatio(r.ratioToDirect),
    r.ratioToNginx === null ? '-' : fmtRatio(r.ratioToNginx),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7, 8]);
  const line = (c: readonly string[]): string =>
    c
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

// ---------------------------------------------------------------- main

async function main(settings: Settings): Promise<void> {
  const nginxBinary = findNginx();
  const machine: Machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    nginx: nginxBinary?.version ?? null,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadGenerator: `autocannon ${autocannonVersion()} (in-process)`,
  };
  const notes: string[] = [
    'load generator: autocannon in the benchmark process (wrk is not used even when installed); on a small machine it competes for the same cores as the proxies',
    'targets: direct = the node:http upstream itself; nginx (when present) = worker_processes 1, upstream keepalive 64, request and response streaming (proxy_request_buffering off, proxy_buffering off); gateway = jwtgate serve --log-level warn',
    'errors = non-2xx responses + socket errors (timeouts included); latency percentiles have 1 ms resolution (autocannon)',
    'peak RSS = max VmRSS sampled every 50 ms during the measured run: gateway process / upstream process (direct) / nginx master + worker',
    'scenario b) uses the single user "bench"; c) the users u0..uN-1, connection k cycling through users k, k+C, ...; d)-f) are anonymous',
    `e)/f): ${TRANSFER_REPEATS} transfers per target, one at a time, interleaved over the targets (node:http client, 1 MiB writes with back-pressure / counting the body); the table shows the median rate and the highest RSS peak`,
  ];
  if (!nginxBinary) notes.push('nginx reference skipped: no nginx binary found (apt-get install nginx-light); the nginx bar is SKIP');
  if (settings.quick) notes.push(`quick mode: ${settings.durationS} s runs, ${settings.users} users, ${sizeLabel(settings.bigBytes)} transfers: a smoke test, the numbers are indicative only`);

  tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'jwtgate-bench-'));
  const dataDir = path.join(tempRoot, 'data');
  progress(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, nginx ${machine.nginx ?? 'absent'}; temp dir ${tempRoot}`);

  const upstream = await startUpstream();
  essential.add(upstream.child);
  progress(`upstream on ${upstream.target.origin} (pid ${upstream.child.pid})`);
  const gateway = await startGateway(dataDir);
  essential.add(gateway.child);
  progress(`gateway on ${gateway.target.origin} (pid ${gateway.child.pid}); creating ${settings.users + 1} users`);
  await configureGateway(gateway.target.origin, upstream.target.origin, settings.users);

  const targets: Target[] = [upstream.target];
  let nginxChild: Child | null = null;
  if (nginxBinary) {
    const started = await startNginx(nginxBinary, tempRoot, upstream.target.origin);
    if ('note' in started) {
      notes.push(started.note);
      machine.nginx = `${nginxBinary.version} (did not start)`;
    } else {
      nginxChild = started.child;
      essential.add(started.child);
      targets.push(started.target);
      progress(`nginx ${nginxBinary.version} on ${started.target.origin} (pid ${started.child.pid})`);
    }
  }
  targets.push(gateway.target);

  // Sanity: every target answers the 100-byte GET and counts a POST; the gateway accepts the users.
  const auths = Array.from({ length: settings.users }, (_, i) => basicAuth(userName(i), userPassword(i)));
  for (const target of targets) {
    const get = await httpRequest(`${target.origin}${target.prefix}/x`, { headers: { authorization: basicAuth(BENCH_USER, BENCH_PASSWORD) } });
    if (get.status !== 200 || get.body.length !== 100) throw new Error(`${target.name}: GET answered ${get.status} with ${get.body.length} bytes`);
    const post = await httpRequest(`${target.origin}${target.prefix}/x`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    if (post.status !== 200 || post.body !== '5') throw new Error(`${target.name}: POST answered ${post.status}: ${post.body}`);
  }

  const scenarios: LoadScenario[] = [
    { id: 'a', label: 'anonymous GET', method: 'GET', auth: 'none' },
    { id: 'b', label: 'basic-auth GET, 1 user', method: 'GET', auth: 'single' },
    { id: 'c', label: `basic-auth GET, ${settings.users} users rotating`, method: 'GET', auth: 'rotation' },
    { id: 'd', label: `POST ${sizeLabel(settings.postBytes)} bodies`, method: 'POST', body: Buffer.alloc(settings.postBytes, 'p'), auth: 'none' },
  ];
  for (const target of targets) {
    progress(`initial warm-up / ${target.name}: ${settings.initialWarmupS} s of anonymous GET`);
    await settle();
    await cannon({ url: `${target.origin}${target.prefix}/x`, connections: settings.connections, duration: settings.initialWarmupS, timeout: 10 }, (settings.initialWarmupS + 30) * 1000);
    checkEssential();
  }
  const rows: Row[] = [];
  for (const scenario of scenarios) rows.push(...(await measureScenario(scenario, targets, settings, auths)));
  for (const kind of ['e', 'f'] as const) {
    rows.push(...(await measureTransfers(kind, targets, settings.bigBytes)));
  }
  const gatewayHwm = statusKiB(gateway.child.pid, 'VmHWM');

  progress('stopping the gateway');
  await stopChild(gateway.child, 15_000);
  const readiness = await measureReadiness(dataDir);
  if (nginxChild) await stopChild(nginxChild, 5_000);
  await stopChild(upstream.child, 5_000);

  for (const row of rows) {
    if (row.scenario === 'c0') continue;
    const direct = findRow(rows, row.scenario, 'direct');
    const nginx = findRow(rows, row.scenario, 'nginx');
    row.ratioToDirect = direct && direct.rate > 0 ? row.rate / direct.rate : null;
    row.ratioToNginx = nginx && nginx.rate > 0 ? row.rate / nginx.rate : null;
  }
  const bars = computeBars(rows, readiness, settings);
  notes.push(`before every run the benchmark waits until upstream, nginx and gateway are idle (<= 10% of a core over 200 ms, at most ${SETTLE_LIMIT_MS / 1000} s): ${settleStats.waits} waits, ${(settleStats.totalMs / 1000).toFixed(1)} s in total, ${settleStats.timeouts} gave up`);
  const foreign = foreignCpu.summary();
  const disturbed = foreign.foreignShare > 0.05 || foreign.worstShare > 0.15 || foreign.stealShare > 0.05;
  notes.push(
    `${disturbed ? 'WARNING: other processes competed for the CPU' : 'machine quiet'} during the measured runs: other processes used ${(foreign.foreignShare * 100).toFixed(1)}% of the machine on average (worst run ${(foreign.worstShare * 100).toFixed(1)}%${foreign.worstRun ? `, ${foreign.worstRun}` : ''}), VM steal ${(foreign.stealShare * 100).toFixed(1)}%${disturbed ? ': the numbers are unreliable, run again on a quiet machine' : ''}`,
  );
  const firstLogins = findRow(rows, 'c0', 'gateway');
  const rotation = findRow(rows, 'c', 'gateway');
  if (firstLogins && rotation) {
    notes.push(
      `c) gateway: the first logins of ${settings.users} users took ${Number(firstLogins.details['seconds']).toFixed(1)} s; its measured run ended ${Number(rotation.details['secondsFromFirstLoginsToEnd']).toFixed(1)} s after the first logins began` +
        (Number(rotation.details['secondsFromFirstLoginsToEnd']) < 90
          ? '. The README documents a 5 min cache of successful password checks: a run that ends this soon after the first logins sees few or none of the scrypt re-checks of a steady rotation; --duration 90 includes them'
          : ''),
    );
  }

  if (settings.json) {
    const report = {
      machine,
      settings,
      notes,
      results: rows,
      gateway: { vmHwmMiB: gatewayHwm === null ? null : mib(gatewayHwm) },
      readiness,
      bars,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const out: string[] = [];
  out.push(`jwtgate benchmark, ${new Date().toISOString()}`);
  out.push(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, nginx ${machine.nginx ?? 'absent'}, ${machine.os}`);
  out.push(`load: ${machine.loadGenerator}, ${settings.connections} connections; ${settings.initialWarmupS} s initial warm-up per target; per scenario the targets in turn (direct, nginx, gateway), each a ${settings.warmupS} s warm-up then ${settings.durationS} s measured`);
  for (const note of notes) out.push(`note: ${note}`);
  out.push('');
  out.push(renderTable(rows));
  out.push('');
  out.push(`gateway VmHWM (whole run): ${gatewayHwm === null ? 'n/a' : `${mib(gatewayHwm).toFixed(1)} MiB`}`);
  out.push(`serve readiness: median ${readiness.medianMs.toFixed(0)} ms of ${READINESS_RUNS} (${readiness.runsMs.map((ms) => ms.toFixed(0)).join(', ')} ms)`);
  out.push('');
  out.push('bars:');
  const nameWidth = Math.max(...bars.map((b) => b.name.length));
  for (const bar of bars) out.push(`  ${bar.status.padEnd(4)}  ${bar.name.padEnd(nameWidth)}  ${bar.detail}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---------------------------------------------------------------- lifecycle

function removeTemp(): void {
  if (tempRoot === null) return;
  try {
    fs.rmSync(tempRoot, { recursive: true, force: true });
  } catch {
    // best effort
  }
  tempRoot = null;
}

/** Last resort on any exit: no child outlives the benchmark. */
process.on('exit', () => {
  for (const child of children) if (child.alive()) child.proc.kill('SIGKILL');
  removeTemp();
});

let stopping = false;
async function shutdown(code: number, message: string | null): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (message) process.stderr.write(`${message}\n`);
    await Promise.race([Promise.all([...children].map((child) => stopChild(child, 3_000))), sleep(8_000)]);
    removeTemp();
  }
  process.exit(code);
}

/** First signal: stop the children gracefully; a second one exits at once (the exit hook SIGKILLs them). */
function onSignal(code: number): void {
  if (stopping) process.exit(code);
  void shutdown(code, 'bench: interrupted, stopping child processes');
}
process.on('SIGINT', () => onSignal(130));
process.on('SIGTERM', () => onSignal(143));
process.on('SIGHUP', () => onSignal(129));

let settings: Settings;
try {
  settings = parseSettings(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n${usage()}\n`);
  process.exit(2);
}
main(settings).then(
  () => shutdown(0, null),
  (err: unknown) => shutdown(1, `bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
);
