#!/usr/bin/env node
/**
 * `npm run bench`: the gateway against references, on this machine, with the real processes.
 *
 *   upstream  plain node:http server in its own process (scripts/bench/upstream.ts)
 *   direct    the upstream itself (the ceiling)
 *   nginx     nginx proxying to the upstream, when an `nginx` binary exists (skipped otherwise)
 *   gateway   `jwtgate serve` (child process, temp data dir, real store and key)
 *
 * Scenarios, each run on every target in turn (short warm-up, then a measured slice), in
 * rounds (--rounds) so that every cell is spread over the run:
 *   a) anonymous GET  b) basic-auth GET, one user  c) basic-auth GET, N users in rotation
 *   d) POST 1 MiB bodies  e) one big streaming upload  f) one big streaming download
 *   g) session-cookie GET, one user (gateway only: the cookie of a /login)
 *   h) ALB-assertion GET, N fixed tokens in rotation (gateway only, behind a local ALB)
 * plus the time `jwtgate serve` takes to answer /healthz (`ready`). Prints one table and the bars
 * (PASS/FAIL/SKIP); `--json` prints one JSON object instead. Exit code 0 whatever the bars say;
 * non-zero only when the benchmark itself broke.
 *
 * Options: --json, --duration SECONDS (10), --rounds N (2), --connections N (50), --quick (smoke test),
 * --gateway-node-flags "FLAGS" (extra Node flags of the gateway, e.g. --max-semi-space-size=4),
 * --only LIST (some of a,b,c,d,e,f,g,h,ready; the bars that need the others are SKIP).
 *
 * This file parses the options and runs the steps in order; the steps live in scripts/bench/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { computeBars } from './bench/bars.js';
import { startBenchAlb, type BenchAlb } from './bench/assertions.js';
import { GiB, MiB, RUN_IDS, basicAuth, progress, userName, userPassword, type Row, type RunId, type Settings, type Target } from './bench/common.js';
import { initialWarmUp, loadScenarios, measureLoad } from './bench/load.js';
import { findNginx, startNginx } from './bench/nginx.js';
import { statusKiB } from './bench/process-stats.js';
import { essential, killAllChildren, stopAllChildren, stopChild, type Child } from './bench/processes.js';
import { measureReadiness, type Readiness } from './bench/readiness.js';
import { addRatios, describeMachine, methodNotes, printReport, runNotes } from './bench/report.js';
import { checkTargets, configureGateway, sessionCookie, startGateway, startUpstream } from './bench/targets.js';
import { measureTransfers } from './bench/transfers.js';

// ---------------------------------------------------------------- settings

function usage(): string {
  return [
    'usage: node dist/scripts/bench.js [--json] [--duration SECONDS] [--rounds N] [--connections N] [--quick] [--gateway-node-flags "FLAGS"] [--only LIST]',
    '  --json             print one JSON object instead of the table',
    '  --duration SECONDS measured seconds per target and scenario (default 10; 2 with --quick)',
    '  --rounds N         split them into N slices, interleaved with the other targets and scenarios',
    '                     (default 2; 1 with --quick), each slice after its own warm-up',
    '  --connections N    concurrent connections of the load generator (default 50)',
    '  --quick            smoke test: short runs, 100 users, 64 MiB transfers',
    '  --gateway-node-flags "FLAGS"',
    '                     extra Node flags of the gateway process (and of the readiness runs), space-separated',
    '                     (default none), e.g. --gateway-node-flags "--max-semi-space-size=4"',
    `  --only LIST        run only these, comma-separated: ${RUN_IDS.join(', ')} (default all; ready = serve readiness);`,
    '                     e.g. --only b,g for the session-cookie bar, --only b,h for the ALB-assertion bar. Bars whose results were not run are SKIP',
  ].join('\n');
}

/**
 * `--gateway-node-flags "--x=1"` as `--gateway-node-flags=--x=1`: parseArgs (strict) refuses a
 * separate value that starts with a dash, and Node flags always do.
 */
function joinNodeFlags(argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--gateway-node-flags' && i + 1 < argv.length) joined.push(`--gateway-node-flags=${argv[++i]}`);
    else joined.push(argv[i]!);
  }
  return joined;
}

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: joinNodeFlags(argv),
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      'gateway-node-flags': { type: 'string', default: '' },
      only: { type: 'string' },
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
  const rounds = values.rounds === undefined ? (quick ? 1 : 2) : Number(values.rounds);
  if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > 20) throw new UsageError(`--rounds must be an integer between 1 and 20, got ${JSON.stringify(values.rounds)}`);
  if (durationS / rounds < 1) throw new UsageError(`--duration ${durationS} over --rounds ${rounds} gives slices under 1 s`);
  const connections = values.connections === undefined ? 50 : Number(values.connections);
  if (!Number.isSafeInteger(connections) || connections < 1 || connections > 1000) throw new UsageError(`--connections must be an integer between 1 and 1000, got ${JSON.stringify(values.connections)}`);
  const only = values.only === undefined ? [...RUN_IDS] : values.only.split(',').map((id) => id.trim()).filter(Boolean);
  const unknown = only.filter((id) => !(RUN_IDS as readonly string[]).includes(id));
  if (only.length === 0 || unknown.length > 0) throw new UsageError(`--only takes some of ${RUN_IDS.join(', ')}, got ${JSON.stringify(values.only)}`);
  return {
    json: values.json === true,
    quick,
    durationS,
    rounds,
    warmupS: quick ? 1 : 2,
    initialWarmupS: quick ? 2 : 5,
    connections,
    users: quick ? 100 : 1000,
    bigBytes: quick ? 64 * MiB : GiB,
    postBytes: MiB,
    gatewayNodeFlags: values['gateway-node-flags'].split(/\s+/).filter(Boolean),
    only: new Set(only as RunId[]),
  };
}

class UsageError extends Error {}

// ---------------------------------------------------------------- main

let tempRoot: string | null = null;
let alb: BenchAlb | null = null;

async function main(settings: Settings): Promise<void> {
  const nginxBinary = findNginx();
  const machine = describeMachine(nginxBinary);
  const notes = methodNotes(settings, nginxBinary !== null);

  tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'jwtgate-bench-'));
  const dataDir = path.join(tempRoot, 'data');
  progress(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, nginx ${machine.nginx ?? 'absent'}; temp dir ${tempRoot}`);

  const upstream = await startUpstream();
  essential.add(upstream.child);
  progress(`upstream on ${upstream.target.origin} (pid ${upstream.child.pid})`);
  const run = settings.only;
  // Scenario h): the gateway trusts the loopback peer and checks the local ALB's assertions (for every scenario).
  alb = run.has('h') ? await startBenchAlb(settings.users) : null;
  const gateway = await startGateway(dataDir, settings.gatewayNodeFlags, alb?.gatewayArgs ?? []);
  essential.add(gateway.child);
  const users = run.has('c') ? settings.users : 0;
  progress(`gateway on ${gateway.target.origin} (pid ${gateway.child.pid}); creating ${users + 1} users`);
  await configureGateway(gateway.target.origin, upstream.target.origin, users);

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

  const credentials = {
    basic: Array.from({ length: users }, (_, i) => basicAuth(userName(i), userPassword(i))),
    cookie: run.has('g') ? await sessionCookie(gateway.target.origin) : '',
    assertions: alb?.tokens ?? [],
  };
  await checkTargets(targets, alb?.tokens[0] ?? null);

  const scenarios = loadScenarios(settings);
  await initialWarmUp(targets, settings);
  const rows: Row[] = [];
  rows.push(...(await measureLoad(scenarios, targets, settings, credentials)));
  for (const kind of ['e', 'f'] as const) {
    if (run.has(kind)) rows.push(...(await measureTransfers(kind, targets, settings.bigBytes)));
  }
  const gatewayHwmKiB = statusKiB(gateway.child.pid, 'VmHWM');
  if (alb) notes.push(`h) the gateway fetched the ALB key ${alb.keyRequests()} time(s) for ${alb.tokens.length} tokens`);

  progress('stopping the gateway');
  await stopChild(gateway.child, 15_000);
  const readiness: Readiness | null = run.has('ready') ? await measureReadiness(dataDir, settings.gatewayNodeFlags) : null;
  if (nginxChild) await stopChild(nginxChild, 5_000);
  await stopChild(upstream.child, 5_000);
  await alb?.close();

  addRatios(rows);
  const bars = computeBars(rows, readiness, settings);
  notes.push(...runNotes(rows, settings));
  printReport({ machine, settings, notes, rows, gatewayHwmKiB, readiness, bars });
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
  killAllChildren();
  removeTemp();
});

let stopping = false;
async function shutdown(code: number, message: string | null): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (message) process.stderr.write(`${message}\n`);
    await Promise.race([stopAllChildren(3_000), sleep(8_000)]);
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
