/**
 * The big transfers (node:http client): e) one streaming upload and f) one streaming download
 * per target and repetition, the targets interleaved.
 */
import http from 'node:http';
import { MiB, median, mib, progress, sizeLabel, type Row, type Target, type TargetName } from './common.js';
import { RssSampler, foreignCpu, settle } from './process-stats.js';
import { checkEssential } from './processes.js';

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

/** Each big transfer is repeated this many times per target (interleaved); the median rate is reported. */
export const TRANSFER_REPEATS = 3;

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
export async function measureTransfers(kind: 'e' | 'f', targets: readonly Target[], bytes: number): Promise<Row[]> {
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
