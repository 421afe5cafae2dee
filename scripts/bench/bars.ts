/** The bars: the project's performance targets, judged on the results (PASS / FAIL / SKIP). */
import { findRow, fmtRate, fmtRatio, type Row, type ScenarioId, type Settings, type TargetName } from './common.js';
import { READINESS_RUNS, type Readiness } from './readiness.js';
import { TRANSFER_REPEATS } from './transfers.js';

export interface Bar {
  name: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
}

/** `readiness` null: not run (--only). A bar whose results were not run is SKIP. */
export function computeBars(rows: readonly Row[], readiness: Readiness | null, settings: Settings): Bar[] {
  const bars: Bar[] = [];
  const check = (name: string, pass: boolean, detail: string): void => {
    bars.push({ name, status: pass ? 'PASS' : 'FAIL', detail });
  };
  /** Judges `name` with the rows it needs, or SKIPs it when one was not run. */
  const judge = (name: string, needs: readonly [ScenarioId, TargetName][], verdict: (...found: Row[]) => [boolean, string]): void => {
    const found = needs.map(([scenario, target]) => findRow(rows, scenario, target));
    const missing = needs.filter((_, i) => found[i] === undefined).map(([scenario, target]) => `${scenario}) ${target}`);
    if (missing.length > 0) bars.push({ name, status: 'SKIP', detail: `not run: ${missing.join(', ')} (--only)` });
    else check(name, ...verdict(...(found as Row[])));
  };

  const bar1 = 'basic-auth user GET >= 0.45 x nginx (anonymous GET through nginx)';
  if (findRow(rows, 'a', 'direct') && !findRow(rows, 'a', 'nginx')) {
    bars.push({ name: bar1, status: 'SKIP', detail: 'no nginx reference on this machine' });
  } else {
    judge(bar1, [['b', 'gateway'], ['a', 'nginx']], (gwB, nginxA) => {
      const ratio = gwB.rate / nginxA.rate;
      return [ratio >= 0.45, `gateway ${fmtRate(gwB.rate)} req/s vs nginx ${fmtRate(nginxA.rate)} req/s: ${fmtRatio(ratio)} x (needs >= 0.45, i.e. >= ${fmtRate(0.45 * nginxA.rate)} req/s)`];
    });
  }

  judge('basic-auth user GET >= 0.9 x gateway anonymous GET', [['b', 'gateway'], ['a', 'gateway']], (gwB, gwA) => {
    const ratio = gwB.rate / gwA.rate;
    return [ratio >= 0.9, `${fmtRate(gwB.rate)} vs ${fmtRate(gwA.rate)} req/s: ${fmtRatio(ratio)} x (needs >= 0.90)`];
  });

  judge('session-cookie GET >= 0.9 x basic-auth user GET (gateway)', [['g', 'gateway'], ['b', 'gateway']], (gwG, gwB) => {
    const ratio = gwG.rate / gwB.rate;
    return [ratio >= 0.9 && gwG.errors === 0, `${fmtRate(gwG.rate)} vs ${fmtRate(gwB.rate)} req/s: ${fmtRatio(ratio)} x (needs >= 0.90), errors ${gwG.errors}`];
  });

  judge('ALB-assertion GET >= 0.9 x basic-auth user GET (gateway)', [['h', 'gateway'], ['b', 'gateway']], (gwH, gwB) => {
    const ratio = gwH.rate / gwB.rate;
    const cpu = (row: Row) => Number(row.details['cpuUsPerRequest']);
    return [ratio >= 0.9 && gwH.errors === 0, `${fmtRate(gwH.rate)} vs ${fmtRate(gwB.rate)} req/s: ${fmtRatio(ratio)} x (needs >= 0.90), errors ${gwH.errors}; CPU ${cpu(gwH).toFixed(0)} vs ${cpu(gwB).toFixed(0)} µs/req (${fmtRatio(cpu(gwB) / cpu(gwH))} x)`];
  });

  judge(
    `gateway p99 <= direct p99 + 3 ms (anonymous GET, ${settings.connections} connections${settings.connections === 50 ? '' : '; the bar is defined at 50'})`,
    [['a', 'gateway'], ['a', 'direct']],
    (gwA, directA) => {
      const p99Limit = (directA.p99Ms ?? 0) + 3;
      return [(gwA.p99Ms ?? Infinity) <= p99Limit, `gateway p99 ${gwA.p99Ms} ms vs direct p99 ${directA.p99Ms} ms + 3 = ${p99Limit} ms (p50 ${gwA.p50Ms} vs ${directA.p50Ms} ms)`];
    },
  );

  for (const kind of ['e', 'f'] as const) {
    const label = findRow(rows, kind, 'gateway')?.label ?? (kind === 'e' ? 'streaming upload' : 'streaming download');
    judge(`${label}: gateway peak RSS <= 120 MiB and throughput >= 0.5 x direct`, [[kind, 'gateway'], [kind, 'direct']], (gw, direct) => {
      const ratio = gw.rate / direct.rate;
      const rss = gw.peakRssMiB ?? Infinity;
      const before = gw.details['rssBeforeMiB'];
      return [
        gw.errors === 0 && rss <= 120 && ratio >= 0.5,
        `peak RSS ${rss.toFixed(1)} MiB${typeof before === 'number' ? ` (${before.toFixed(1)} MiB before the transfer)` : ''}; ${gw.rate.toFixed(1)} vs direct ${direct.rate.toFixed(1)} MiB/s (medians of ${TRANSFER_REPEATS}): ${fmtRatio(ratio)} x${gw.errors === 0 ? '' : `; transfer FAILED: ${String(gw.details['problem'])}`}`,
      ];
    });
  }

  judge(`${settings.users} users in rotation >= 0.8 x single user (gateway)`, [['c', 'gateway'], ['b', 'gateway']], (gwC, gwB) => {
    const ratio = gwC.rate / gwB.rate;
    return [ratio >= 0.8, `${fmtRate(gwC.rate)} vs ${fmtRate(gwB.rate)} req/s: ${fmtRatio(ratio)} x (needs >= 0.80)`];
  });

  const readyBar = `serve ready <= 1.5 s (median of ${READINESS_RUNS})`;
  if (readiness === null) bars.push({ name: readyBar, status: 'SKIP', detail: 'not run: ready (--only)' });
  else check(readyBar, readiness.medianMs <= 1500, `median ${readiness.medianMs.toFixed(0)} ms (runs: ${readiness.runsMs.map((ms) => ms.toFixed(0)).join(', ')} ms; warm-up run ${readiness.warmRunMs.toFixed(0)} ms)`);
  return bars;
}
