/**
 * The report: the machine, the notes that say how the numbers were taken, the ratios to the
 * references, and the output (one table and the bars, or one JSON object with --json).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { Bar } from './bars.js';
import { RUN_IDS, findRow, fmtRate, fmtRatio, mib, sizeLabel, type Row, type Settings } from './common.js';
import type { NginxBinary } from './nginx.js';
import { SETTLE_LIMIT_MS, foreignCpu, settleStats } from './process-stats.js';
import { READINESS_RUNS, type Readiness } from './readiness.js';
import { TRANSFER_REPEATS } from './transfers.js';

// ---------------------------------------------------------------- machine and notes

export interface Machine {
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

export function describeMachine(nginxBinary: NginxBinary | null): Machine {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    nginx: nginxBinary?.version ?? null,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadGenerator: `autocannon ${autocannonVersion()} (in-process)`,
  };
}

/** The notes known before the runs: how the targets are run and measured. */
export function methodNotes(settings: Settings, nginxFound: boolean): string[] {
  const notes: string[] = [
    'load generator: autocannon in the benchmark process (wrk is not used even when installed); on a small machine it competes for the same cores as the proxies',
    'targets: direct = the node:http upstream itself; nginx (when present) = worker_processes 1, upstream keepalive 64, request and response streaming (proxy_request_buffering off, proxy_buffering off); gateway = jwtgate serve --log-level warn',
    'errors = non-2xx responses + socket errors (timeouts included); latency percentiles have 1 ms resolution (autocannon)',
    'peak RSS = max VmRSS sampled every 50 ms during the measured run: gateway process / upstream process (direct) / nginx master + worker',
    'CPU µs/req = CPU time (user + system) of those same processes over the measured slices / 2xx responses: unlike req/s it hardly depends on what else runs on the machine',
    'scenario b) uses the single user "bench"; c) the users u0..uN-1, connection k cycling through users k, k+C, ...; d)-f) are anonymous',
    'scenario h) runs on the gateway only: one x-amzn-oidc-data token per user u0..uN-1 (ES256, padded, signed by a local ALB in the benchmark process whose key URL the gateway gets with --alb-key-url), cycled like c); with h) the gateway runs every scenario with --trust-proxy 127.0.0.1 and the ALB flags',
    `e)/f): ${TRANSFER_REPEATS} transfers per target, one at a time, interleaved over the targets (node:http client, 1 MiB writes with back-pressure / counting the body); the table shows the median rate and the highest RSS peak`,
  ];
  if (!nginxFound) notes.push('nginx reference skipped: no nginx binary found (apt-get install nginx-light); the nginx bar is SKIP');
  if (settings.only.size < RUN_IDS.length) notes.push(`--only ${[...settings.only].join(',')}: the other scenarios were not run, their bars are SKIP`);
  if (settings.quick) notes.push(`quick mode: ${settings.durationS} s runs, ${settings.users} users, ${sizeLabel(settings.bigBytes)} transfers: a smoke test, the numbers are indicative only`);
  return notes;
}

/** The notes known after the runs: idle waits, other processes on the CPU, the first logins. */
export function runNotes(rows: readonly Row[], settings: Settings): string[] {
  const notes: string[] = [];
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
      `c) gateway: the first logins of ${settings.users} users took ${Number(firstLogins.details['seconds']).toFixed(1)} s; its last measured slice ended ${Number(rotation.details['secondsFromFirstLoginsToEnd']).toFixed(1)} s after the first logins began` +
        (Number(rotation.details['secondsFromFirstLoginsToEnd']) < 90
          ? '. docs/http-api.md documents a 5 min cache of successful password checks: a run that ends this soon after the first logins sees few or none of the scrypt re-checks of a steady rotation; --duration 90 includes them'
          : ''),
    );
  }
  return notes;
}

// ---------------------------------------------------------------- results

/** Each row's rate relative to direct and to nginx in the same scenario (not for the first logins). */
export function addRatios(rows: Row[]): void {
  for (const row of rows) {
    if (row.scenario === 'c0') continue;
    const direct = findRow(rows, row.scenario, 'direct');
    const nginx = findRow(rows, row.scenario, 'nginx');
    row.ratioToDirect = direct && direct.rate > 0 ? row.rate / direct.rate : null;
    row.ratioToNginx = nginx && nginx.rate > 0 ? row.rate / nginx.rate : null;
  }
}

function renderTable(rows: readonly Row[]): string {
  const header = ['target', 'scenario', 'req/s (MiB/s)', 'p50 ms', 'p99 ms', 'errors', 'peak RSS MiB', 'x direct', 'x nginx', 'CPU µs/req'];
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
    typeof r.details['cpuUsPerRequest'] === 'number' ? r.details['cpuUsPerRequest'].toFixed(0) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7, 8, 9]);
  const line = (c: readonly string[]): string =>
    c
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

// ---------------------------------------------------------------- output

export interface Report {
  machine: Machine;
  settings: Settings;
  notes: readonly string[];
  rows: readonly Row[];
  /** The gateway's VmHWM over the whole run, KiB. */
  gatewayHwmKiB: number | null;
  /** null: not run (--only). */
  readiness: Readiness | null;
  bars: readonly Bar[];
}

/** Writes the report to stdout: one JSON object with --json, else the table and the bars. */
export function printReport({ machine, settings, notes, rows, gatewayHwmKiB, readiness, bars }: Report): void {
  if (settings.json) {
    const report = {
      machine,
      settings,
      notes,
      results: rows,
      gateway: { vmHwmMiB: gatewayHwmKiB === null ? null : mib(gatewayHwmKiB) },
      readiness,
      bars,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const nodeFlags = settings.gatewayNodeFlags.length > 0 ? `; gateway Node flags: ${settings.gatewayNodeFlags.join(' ')}` : '';
  const out: string[] = [];
  out.push(`jwtgate benchmark, ${new Date().toISOString()}`);
  out.push(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, nginx ${machine.nginx ?? 'absent'}, ${machine.os}${nodeFlags}`);
  out.push(`load: ${machine.loadGenerator}, ${settings.connections} connections; ${settings.initialWarmupS} s initial warm-up per target; ${settings.rounds} round${settings.rounds === 1 ? '' : 's'}, each running every scenario on the targets in turn (direct, nginx, gateway): a ${settings.warmupS} s warm-up then ${settings.durationS / settings.rounds} s measured; a row merges its ${settings.rounds} slice${settings.rounds === 1 ? '' : 's'} (${settings.durationS} s)`);
  for (const note of notes) out.push(`note: ${note}`);
  out.push('');
  out.push(renderTable(rows));
  out.push('');
  out.push(`gateway VmHWM (whole run): ${gatewayHwmKiB === null ? 'n/a' : `${mib(gatewayHwmKiB).toFixed(1)} MiB`}`);
  out.push(readiness === null ? 'serve readiness: not run (--only)' : `serve readiness: median ${readiness.medianMs.toFixed(0)} ms of ${READINESS_RUNS} (${readiness.runsMs.map((ms) => ms.toFixed(0)).join(', ')} ms)`);
  out.push('');
  out.push('bars:');
  const nameWidth = Math.max(...bars.map((b) => b.name.length));
  for (const bar of bars) out.push(`  ${bar.status.padEnd(4)}  ${bar.name.padEnd(nameWidth)}  ${bar.detail}`);
  process.stdout.write(`${out.join('\n')}\n`);
}
