/**
 * Keeps a streaming transfer's memory flat: a young-generation GC after every few megabytes of
 * relayed body.
 *
 * Why: every body chunk Node reads from a socket (the client's upload, the upstream's answer)
 * is a fresh malloc'ed buffer of up to 64 KiB, freed only when V8 collects its small JS
 * wrapper. Relaying allocates little else on the JS heap, so V8's own young-generation GCs
 * come rarely; it counts the buffers as external memory and collects for them only every
 * ~64 MiB, and glibc then keeps most of the freed chunks in its heap (fragmentation). A 1 GiB
 * upload grew the gateway from ~70 to ~120 MiB of RSS and left ~35 MiB of it behind. With a
 * minor GC every 8 MiB the buffers die young, malloc reuses the same few chunks, and the
 * gateway stays at ~80 MiB, at the same throughput. 1 GiB takes ~130 minor GCs (--trace-gc:
 * median 0.5 ms, 90 % under 1.5 ms). docs/performance.md has the measurements.
 *
 * The GC function is V8's own `gc`, exposed at run time (`--expose-gc` through
 * v8.setFlagsFromString, then fetched from a fresh context, as test runners do) so that
 * `jwtgate serve` needs no Node flags. Where it is unavailable the pacer does nothing.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/** Young-generation GC after this much relayed body (both directions together). */
export const GC_EVERY_BYTES = 8 * 1024 * 1024;

export interface GcPacer {
  /** Counts relayed body bytes; runs a collection each time `everyBytes` more have passed. */
  relayed(bytes: number): void;
}

export interface GcPacerOptions {
  everyBytes: number;
  /** The collection to run; null disables the pacer. */
  collect: (() => void) | null;
}

export function createGcPacer({ everyBytes, collect }: GcPacerOptions): GcPacer {
  if (collect === null || !(everyBytes > 0)) return { relayed() {} };
  let pending = 0;
  return {
    relayed(bytes) {
      pending += bytes;
      if (pending < everyBytes) return;
      pending = 0;
      collect();
    },
  };
}

type V8Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

/** V8's young-generation GC as a function, or null when this runtime does not offer it. */
export function minorGc(): (() => void) | null {
  let gc: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc');
    } catch {
      return null;
    } finally {
      // Only the context created above gets `gc`; no later context (or script) sees it.
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  if (typeof gc !== 'function') return null;
  const collect = gc as V8Gc;
  return () => collect({ type: 'minor' });
}
