/**
 * The load runs (autocannon, in this process): scenarios a) to d) on every target in turn, g) and
 * h) on the gateway, the initial warm-up, and the first logins of the rotation scenario.
 */
import autocannon, { type AutocannonClient, type AutocannonOptions, type AutocannonRawResult, type AutocannonRequest } from 'autocannon';
import { BENCH_PASSWORD, BENCH_USER, basicAuth, mib, progress, sizeLabel, type Row, type ScenarioId, type Settings, type Target } from './common.js';
import { RssSampler, cpuMicros, foreignCpu, settle } from './process-stats.js';
import { checkEssential } from './processes.js';

export interface LoadScenario {
  id: 'a' | 'b' | 'c' | 'd' | 'g' | 'h';
  label: string;
  method: 'GET' | 'POST';
  body?: Buffer;
  /** Credentials per connection: none, the one bench user (Basic), every user in rotation, the bench user's session cookie, or an ALB assertion per user in rotation. */
  auth: 'none' | 'single' | 'rotation' | 'cookie' | 'assertion';
  /** Only on the gateway (a cookie or an assertion means nothing to the references, which would merely pass it on). */
  gatewayOnly?: boolean;
}

/** What the scenarios send: basic credentials of every user, the bench user's session cookie, ALB assertions (x-amzn-oidc-data) of every user. */
export interface Credentials {
  basic: readonly string[];
  cookie: string;
  assertions: readonly string[];
}

/** Scenarios a) to d), each run on every target in turn, and g) and h) on the gateway; those --only names. */
export function loadScenarios(settings: Settings): LoadScenario[] {
  const all: LoadScenario[] = [
    { id: 'a', label: 'anonymous GET', method: 'GET', auth: 'none' },
    { id: 'b', label: 'basic-auth GET, 1 user', method: 'GET', auth: 'single' },
    { id: 'g', label: 'session-cookie GET, 1 user', method: 'GET', auth: 'cookie', gatewayOnly: true },
    { id: 'c', label: `basic-auth GET, ${settings.users} users rotating`, method: 'GET', auth: 'rotation' },
    { id: 'd', label: `POST ${sizeLabel(settings.postBytes)} bodies`, method: 'POST', body: Buffer.alloc(settings.postBytes, 'p'), auth: 'none' },
    { id: 'h', label: `ALB-assertion GET, ${settings.users} fixed tokens rotating`, method: 'GET', auth: 'assertion', gatewayOnly: true },
  ];
  return all.filter((scenario) => settings.only.has(scenario.id));
}

/**
 * One header value per user, split so that connection k cycles through users k, k+C, k+2C, ...
 * (C connections): every user in rotation, no two connections on the same user at once.
 */
function rotationClientSetup(header: string, values: readonly string[], connections: number): (client: AutocannonClient) => void {
  let next = 0;
  return (client) => {
    const k = next++ % Math.min(connections, values.length);
    const requests: AutocannonRequest[] = [];
    for (let i = k; i < values.length; i += Math.min(connections, values.length)) requests.push({ headers: { [header]: values[i]! } });
    client.setRequests(requests);
  };
}

function loadOptions(scenario: LoadScenario, target: Target, connections: number, credentials: Credentials): AutocannonOptions {
  const headers: Record<string, string> = {};
  if (scenario.auth === 'single') headers['authorization'] = basicAuth(BENCH_USER, BENCH_PASSWORD);
  if (scenario.auth === 'cookie') headers['cookie'] = credentials.cookie;
  if (scenario.body) headers['content-type'] = 'application/octet-stream';
  const options: AutocannonOptions = { url: `${target.origin}${target.prefix}/x`, connections, method: scenario.method, headers, timeout: 10 };
  if (scenario.body) options.body = scenario.body;
  if (scenario.auth === 'rotation') options.setupClient = rotationClientSetup('authorization', credentials.basic, connections);
  if (scenario.auth === 'assertion') options.setupClient = rotationClientSetup('x-amzn-oidc-data', credentials.assertions, connections);
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

/** 2xx responses per second of one autocannon run. */
function sliceRate(raw: AutocannonRawResult): number {
  return raw.duration > 0 ? raw['2xx'] / raw.duration : 0;
}

/**
 * One row from the measured slices of a (scenario, target) cell: counters summed, latency
 * histograms merged (autocannon's aggregateResult), rate = 2xx responses / measured seconds.
 */
function rowOf(scenario: { id: ScenarioId; label: string }, target: Target, raws: readonly AutocannonRawResult[], peakKiB: number, extra: Record<string, number | string | null> = {}): Row {
  const sum = (pick: (raw: AutocannonRawResult) => number): number => raws.reduce((acc, raw) => acc + pick(raw), 0);
  const statusCounts = new Map<string, number>();
  for (const raw of raws) for (const [code, { count }] of Object.entries(raw.statusCodeStats)) statusCounts.set(code, (statusCounts.get(code) ?? 0) + count);
  const statuses = [...statusCounts].map(([code, count]) => `${code}:${count}`).join(' ');
  // aggregateResult merges into copies of the slices, except statusCodeStats (counted above).
  const result = autocannon.aggregateResult(raws.map((raw) => ({ ...raw, statusCodeStats: {} })), { url: `${target.origin}${target.prefix}/x` });
  const ok = sum((raw) => raw['2xx']);
  const seconds = sum((raw) => raw.duration);
  return {
    scenario: scenario.id,
    label: scenario.label,
    target: target.name,
    unit: 'req/s',
    rate: seconds > 0 ? ok / seconds : 0,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: sum((raw) => raw.non2xx + raw.errors),
    peakRssMiB: mib(peakKiB),
    ratioToDirect: null,
    ratioToNginx: null,
    details: {
      ...extra,
      requests2xx: ok,
      non2xx: sum((raw) => raw.non2xx),
      socketErrors: sum((raw) => raw.errors),
      timeouts: sum((raw) => raw.timeouts),
      measuredSeconds: seconds,
      slices: raws.length,
      sliceRates: raws.map((raw) => Math.round(sliceRate(raw))).join(' '),
      latencyMeanMs: result.latency.mean,
      latencyMaxMs: result.latency.max,
      statusCodes: statuses,
    },
  };
}

/** Extra warm-up of every target before the first scenario (JIT, pools): anonymous GET. */
export async function initialWarmUp(targets: readonly Target[], settings: Settings): Promise<void> {
  for (const target of targets) {
    progress(`initial warm-up / ${target.name}: ${settings.initialWarmupS} s of anonymous GET`);
    await settle();
    await cannon({ url: `${target.origin}${target.prefix}/x`, connections: settings.connections, duration: settings.initialWarmupS, timeout: 10 }, (settings.initialWarmupS + 30) * 1000);
    checkEssential();
  }
}

interface Cell {
  raws: AutocannonRawResult[];
  peakKiB: number;
  /** CPU time of the target's processes over the measured slices, µs. */
  cpuUs: number;
  /** performance.now() at the end of the last slice. */
  endedAt: number;
}

/**
 * The load scenarios on every target, in `settings.rounds` rounds: each round runs every
 * scenario on every target in turn (direct, nginx, gateway), a warm-up then a measured slice of
 * durationS / rounds seconds; a cell's row merges its slices. Interleaving the rounds spreads
 * each cell over the whole run, so a slow minute of the machine (on a shared VM host the same
 * target can vary by 30 % from one minute to the next) weighs on every cell alike instead of
 * on whichever ran then: the bars compare cells. Before the gateway's first rotation slice every
 * user logs in once (cold password checks, reported as its own row). Before each run the
 * processes are left to become idle.
 */
export async function measureLoad(scenarios: readonly LoadScenario[], allTargets: readonly Target[], settings: Settings, credentials: Credentials): Promise<Row[]> {
  const targetsOf = (scenario: LoadScenario) => (scenario.gatewayOnly ? allTargets.filter((t) => t.name === 'gateway') : allTargets);
  const cells = new Map<string, Cell>();
  const firstLogins = new Map<ScenarioId, { row: Row; primedAt: number }>();
  const sliceS = settings.durationS / settings.rounds;
  for (let round = 1; round <= settings.rounds; round++) {
    for (const scenario of scenarios) {
      for (const target of targetsOf(scenario)) {
        if (round === 1 && scenario.auth === 'rotation' && target.name === 'gateway') {
          const primedAt = performance.now();
          firstLogins.set(scenario.id, { row: await primeUsers(target, settings, credentials.basic), primedAt });
        }
        progress(`${scenario.id}) ${scenario.label} / ${target.name}, round ${round}/${settings.rounds}: warm-up ${settings.warmupS} s, then ${sliceS} s measured`);
        await settle();
        await cannon({ ...loadOptions(scenario, target, settings.connections, credentials), duration: settings.warmupS }, (settings.warmupS + 30) * 1000);
        checkEssential();
        await settle();
        const options = { ...loadOptions(scenario, target, settings.connections, credentials), duration: sliceS };
        const sampler = new RssSampler(target.pids);
        const cpuBefore = cpuMicros(target.pids());
        const raw = await foreignCpu.measure(`${scenario.id}) ${target.name}`, () => cannon(options, (sliceS + 30) * 1000));
        const cpuUs = cpuMicros(target.pids()) - cpuBefore;
        const peakKiB = sampler.stop();
        checkEssential();
        const key = `${scenario.id} ${target.name}`;
        const cell = cells.get(key) ?? { raws: [], peakKiB: 0, cpuUs: 0, endedAt: 0 };
        cell.raws.push(raw);
        cell.cpuUs += cpuUs;
        cell.endedAt = performance.now();
        cell.peakKiB = Math.max(cell.peakKiB, peakKiB);
        cells.set(key, cell);
        progress(`  ${target.name}: ${Math.round(sliceRate(raw))} req/s, errors ${raw.non2xx + raw.errors}, peak RSS ${mib(peakKiB).toFixed(1)} MiB`);
      }
    }
  }
  const rows: Row[] = [];
  for (const scenario of scenarios) {
    for (const target of targetsOf(scenario)) {
      const first = target.name === 'gateway' ? firstLogins.get(scenario.id) : undefined;
      if (first) rows.push(first.row);
      const cell = cells.get(`${scenario.id} ${target.name}`)!;
      // For the rotation: how long after the first logins its last slice ended (password cache, see report).
      const extra: Record<string, number> = first ? { secondsFromFirstLoginsToEnd: (cell.endedAt - first.primedAt) / 1000 } : {};
      const ok = cell.raws.reduce((acc, raw) => acc + raw['2xx'], 0);
      extra['cpuUsPerRequest'] = ok > 0 ? cell.cpuUs / ok : 0;
      rows.push(rowOf(scenario, target, cell.raws, cell.peakKiB, extra));
    }
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
    { url: `${target.origin}${target.prefix}/x`, connections, amount: auths.length, timeout: 30, setupClient: rotationClientSetup('authorization', auths, connections) },
    Math.max(120_000, auths.length * 200),
  );
  const seconds = (performance.now() - started) / 1000;
  const peak = sampler.stop();
  const row = rowOf({ id: 'c0', label: `first login, ${auths.length} users (cold)` }, target, [result], peak, { seconds });
  row.rate = result['2xx'] / seconds;
  progress(`  ${auths.length} first logins in ${seconds.toFixed(1)} s (${Math.round(row.rate)} req/s), errors ${row.errors}`);
  return row;
}
