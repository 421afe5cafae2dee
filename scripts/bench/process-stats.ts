/**
 * What /proc says about the benchmark's processes and the machine: memory (RSS sampling), CPU
 * used by other processes during the measured runs, and waiting until the targets are idle.
 */
import fs from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { progress } from './common.js';
import { essential } from './processes.js';

// ---------------------------------------------------------------- memory

export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** `pid` and its direct children (nginx: master and workers). */
export function processTree(pid: number): number[] {
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
export class RssSampler {
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

// ---------------------------------------------------------------- CPU

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

/** CPU time of these processes, µs (ticks of 1/100 s): per request, it does not depend on how busy the machine is. */
export function cpuMicros(pids: readonly number[]): number {
  return pids.reduce((acc, pid) => acc + cpuTicks(pid), 0) * 10_000;
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

export const foreignCpu = new ForeignCpu();

// ---------------------------------------------------------------- idle wait

export const SETTLE_LIMIT_MS = 20_000;
export const settleStats = { waits: 0, totalMs: 0, timeouts: 0 };

/**
 * Waits until the upstream, nginx and the gateway are idle (under ~10% of a core over 200 ms),
 * so that work left over from one run (e.g. password checks still queued for clients that are
 * gone) does not slow down the next run, which may be another target's. Bounded.
 */
export async function settle(): Promise<void> {
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
