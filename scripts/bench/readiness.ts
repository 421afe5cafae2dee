/** Serve readiness: how long `jwtgate serve` takes to answer /healthz, on the benchmark's data dir. */
import { HOST, median, progress } from './common.js';
import { waitFor200 } from './http-client.js';
import { freePort, spawnChild, stopChild } from './processes.js';
import { gatewayEnv, serveArgs } from './targets.js';

export const READINESS_RUNS = 5;

export interface Readiness {
  runsMs: number[];
  warmRunMs: number;
  medianMs: number;
}

async function readinessOnce(dataDir: string, nodeFlags: readonly string[]): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawnChild('serve (readiness)', process.execPath, serveArgs(dataDir, port, nodeFlags), gatewayEnv());
  try {
    await waitFor200(`http://${HOST}:${port}/healthz`, child, 15_000, 10);
    return performance.now() - started;
  } finally {
    await stopChild(child, 10_000);
  }
}

export async function measureReadiness(dataDir: string, nodeFlags: readonly string[]): Promise<Readiness> {
  progress(`serve readiness: 1 warm run + ${READINESS_RUNS} measured`);
  const warmRunMs = await readinessOnce(dataDir, nodeFlags);
  const runsMs: number[] = [];
  for (let i = 0; i < READINESS_RUNS; i++) runsMs.push(await readinessOnce(dataDir, nodeFlags));
  const medianMs = median(runsMs);
  progress(`  median ${medianMs.toFixed(0)} ms (${runsMs.map((ms) => ms.toFixed(0)).join(', ')})`);
  return { runsMs, warmRunMs, medianMs };
}
