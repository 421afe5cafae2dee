/** The bars: the project's performance targets, judged on the results (PASS / FAIL / SKIP). */
import { findRow, fmtRate, fmtRatio, type Row, type Settings } from './common.js';
import { READINESS_RUNS, type Readiness } from './readiness.js';
import { TRANSFER_REPEATS } from './transfers.js';

export interface Bar {
  name: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
}


/** Thrown when a bar's data was not measured (--only): the bar is skipped. */
class NotMeasured extends Error {}

export function computeBars(rows: readonly Row[], readiness: Readiness | null, settings: Settings): Bar[] {
  const bars: Bar[] = [];
  const check = (name: string, pass: boolean, detail: string): void => {
    bars.push({ name, status: pass ? 'PASS' : 'FAIL', detail });
  };
  // --only: every bar whose rows are missing is skipped; otherwise a missing row is a broken run.
  const attempt = (name: string, bar: () => void): void => {
    try {
      bar();
    } catch (err) {
      if (!(err instanceof NotMeasured) || settings.only === null) throw err;
      bars.push({ name, status: 'SKIP', detail: 'not measured (--only)' });
    }
  };
  const need = (row: Row | undefined, what: string): Row => {
    if (!row) throw settings.only === null ? new Error(`missing result: ${what}`) : new NotMeasured(what);
    return row;
  };
  const row = (scenario: Parameters<typeof findRow>[1], target: Parameters<typeof findRow>[2]) => need(findRow(rows, scenario, target), `${scenario}) ${target}`);

  const bar1 = 'basic-auth user GET >= 0.45 x nginx (anonymous GET through nginx)';
  attempt(bar1, () => {
    const gwB = row('b', 'gateway');
    const nginxA = findRow(rows, 'a', 'nginx');
    if (!nginxA) {
      if (findRow(rows, 'a', 'direct') === undefined) throw new NotMeasured('a');
      bars.push({ name: bar1, status: 'SKIP', detail: 'no nginx reference on this machine' });
      return;
    }
    const ratio = gwB.rate / nginxA.rate;
    check(bar1, ratio >= 0.45, `gateway ${fmtRate(gwB.rate)} req/s vs nginx ${fmtRate(nginxA.rate)} req/s: ${fmtRatio(ratio)} x (needs >= 0.45, i.e. >= ${fmtRate(0.45 * nginxA.rate)} req/s)`);
  });

  const cookieBar = 'session-cookie GET >= 0.9 x basic-auth GET (gateway)';
  attempt(cookieBar, () => {
    const gwG = row('g', 'gateway');
    const gwB = row('b', 'gateway');
    const ratio = gwG.rate / gwB.rate;
    check(cookieBar, ratio >= 0.9, `${fmtRate(gwG.rate)} vs ${fmtRate(gwB.rate)} req/s: ${fmtRatio(ratio)} x (needs >= 0.90)`);
  });

  const selfBar = 'basic-auth user GET >= 0.9 x gateway anonymous GET';
  attempt(selfBar, () => {
    const gwA = row('a', 'gateway');
    const gwB = row('b', 'gateway');
    const ratio = gwB.rate / gwA.rate;
    check(selfBar, ratio >= 0.9, `${fmtRate(gwB.rate)} vs ${fmtRate(gwA.rate)} req/s: ${fmtRatio(ratio)} x (needs >= 0.90)`);
  });

  const p99Bar = `gateway p99 <= direct p99 + 3 ms (anonymous GET, ${settings.connections} connections${settings.connections === 50 ? '' : '; the bar is defined at 50'})`;
  attempt(p99Bar, () => {
    const gwA = row('a', 'gateway');
    const directA = row('a', 'direct');
    const p99Limit = (directA.p99Ms ?? 0) + 3;
    check(p99Bar, (gwA.p99Ms ?? Infinity) <= p99Limit, `gateway p99 ${gwA.p99Ms} ms vs direct p99 ${directA.p99Ms} ms + 3 = ${p99Limit} ms (p50 ${gwA.p50Ms} vs ${directA.p50Ms} ms)`);
  });

  for (const kind of ['e', 'f'] as const) {
    attempt(`${kind}) transfer: gateway peak RSS <= 120 MiB and throughput >= 0.5 x direct`, () => {
      const gw = row(kind, 'gateway');
      const direct = row(kind, 'direct');
      const ratio = gw.rate / direct.rate;
      const rss = gw.peakRssMiB ?? Infinity;
      const before = gw.details['rssBeforeMiB'];
      check(
        `${gw.label}: gateway peak RSS <= 120 MiB and throughput >= 0.5 x direct`,
        gw.errors === 0 && rss <= 120 && ratio >= 0.5,
        `peak RSS ${rss.toFixed(1)} MiB${typeof before === 'number' ? ` (${before.toFixed(1)} MiB before the transfer)` : ''}; ${gw.rate.toFixed(1)} vs direct ${direct.rate.toFixed(1)} MiB/s (medians of ${TRANSFER_REPEATS}): ${fmtRatio(ratio)} x${gw.errors === 0 ? '' : `; transfer FAILED: ${String(gw.details['problem'])}`}`,
      );
    });
  }

  const rotationBar = `${settings.users} users in rotation >= 0.8 x single user (gateway)`;
  attempt(rotationBar, () => {
    const gwC = row('c', 'gateway');
    const gwB = row('b', 'gateway');
    const ratio = gwC.rate / gwB.rate;
    check(rotationBar, ratio >= 0.8, `${fmtRate(gwC.rate)} vs ${fmtRate(gwB.rate)} req/s: ${fmtRatio(ratio)} x (needs >= 0.80)`);
  });

  const readyBar = `serve ready <= 1.5 s (median of ${READINESS_RUNS})`;
  attempt(readyBar, () => {
    if (readiness === null) throw new NotMeasured('ready');
    check(readyBar, readiness.medianMs <= 1500, `median ${readiness.medianMs.toFixed(0)} ms (runs: ${readiness.runsMs.map((ms) => ms.toFixed(0)).join(', ')} ms; warm-up run ${readiness.warmRunMs.toFixed(0)} ms)`);
  });
  return bars;
}
