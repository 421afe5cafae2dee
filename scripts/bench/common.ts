/**
 * What the benchmark's modules share (scripts/bench.ts and scripts/bench/*): settings, the
 * targets and result rows, constants, logging and small helpers.
 */

// ---------------------------------------------------------------- settings

export const HOST = '127.0.0.1';
export const BENCH_USER = 'bench';
export const BENCH_PASSWORD = 'bench-password-bench';
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export interface Settings {
  json: boolean;
  quick: boolean;
  /** Measured seconds per scenario and target, split over `rounds` interleaved slices. */
  durationS: number;
  rounds: number;
  warmupS: number;
  /** Extra warm-up of every target before the first scenario (JIT, pools). */
  initialWarmupS: number;
  connections: number;
  users: number;
  bigBytes: number;
  postBytes: number;
  /** Extra Node flags of the gateway process (and of the readiness runs), e.g. --max-semi-space-size=4. */
  gatewayNodeFlags: string[];
  /** What runs (--only): scenario ids, and `ready` for the serve readiness; all by default. */
  only: ReadonlySet<RunId>;
}

/** The parts of the benchmark --only can choose. */
export const RUN_IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'ready'] as const;
export type RunId = (typeof RUN_IDS)[number];

// ---------------------------------------------------------------- targets and results

export type TargetName = 'direct' | 'nginx' | 'gateway';

export interface Target {
  name: TargetName;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Prefix of the proxied paths: '' (direct) or '/proxy'. */
  prefix: string;
  /** Processes whose RSS is reported for this target. */
  pids(): number[];
}

export type ScenarioId = 'a' | 'b' | 'c' | 'c0' | 'd' | 'e' | 'f' | 'g' | 'h';

export interface Row {
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

export function findRow(rows: readonly Row[], scenario: ScenarioId, target: TargetName): Row | undefined {
  return rows.find((r) => r.scenario === scenario && r.target === target);
}

// ---------------------------------------------------------------- logging, small helpers

const startedAt = performance.now();
export function progress(message: string): void {
  process.stderr.write(`[bench +${((performance.now() - startedAt) / 1000).toFixed(1)}s] ${message}\n`);
}

export function basicAuth(name: string, password: string): string {
  return `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
}

export function userName(i: number): string {
  return `u${i}`;
}

export function userPassword(i: number): string {
  return `bench-password-${i}`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const mib = (kib: number): number => kib / 1024;

export function sizeLabel(bytes: number): string {
  return bytes >= GiB && bytes % GiB === 0 ? `${bytes / GiB} GiB` : `${Math.round(bytes / MiB)} MiB`;
}

export const fmtRate = (n: number): string => String(Math.round(n));
export const fmtRatio = (n: number): string => n.toFixed(2);
