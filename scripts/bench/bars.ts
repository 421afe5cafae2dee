/** The bars: the project's performance targets, judged on the results (PASS / FAIL / SKIP). */
import { findRow, fmtRate, fmtRatio, type Row, type Settings } from './common.js';
import { READINESS_RUNS, type Readiness } from './readiness.js';
import { TRANSFER_REPEATS } from './transfers.js';

export interface Bar {
  name: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
}

function must(row: Row | undefined, what: string): Row {
  if (!row) throw new Error(`missing result: ${what}`);
  return row;
}

export function computeBars(rows: readonly Row[], readiness: Readiness, settings: Settings): Bar[] {
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
