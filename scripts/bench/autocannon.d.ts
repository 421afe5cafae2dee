/**
 * The part of autocannon's programmatic API that scripts/bench/load.ts uses (autocannon ships no
 * types and @types/autocannon is not a dependency). See node_modules/autocannon/README.md.
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  export interface AutocannonRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  }

  /** One connection; setupClient may give it its own request sequence. */
  export interface AutocannonClient {
    setRequests(requests: AutocannonRequest[]): void;
  }

  export interface AutocannonOptions {
    url: string;
    connections?: number;
    /** Seconds; ignored when `amount` is set. */
    duration?: number;
    /** Total number of requests, then stop. */
    amount?: number;
    /** Per-request timeout, seconds. */
    timeout?: number;
    pipelining?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    requests?: AutocannonRequest[];
    setupClient?: (client: AutocannonClient) => void;
    /** Milliseconds between throughput samples (and between checks for the end of the run). */
    sampleInt?: number;
  }

  /** Percentiles are keyed p0_001 ... p99_999 (autocannon's names). */
  export interface AutocannonHistogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total?: number;
    p50: number;
    p90: number;
    p99: number;
  }

  /** The counters a finished run and a raw (unaggregated) run both carry. */
  interface AutocannonCounters {
    /** Seconds. */
    duration: number;
    /** Socket errors, timeouts included. */
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    resets: number;
    '2xx': number;
    statusCodeStats: Record<string, { count: number }>;
  }

  export interface AutocannonResult extends AutocannonCounters {
    /** Milliseconds, 2xx responses only. */
    latency: AutocannonHistogram;
    /** Requests per one-second sample. */
    requests: AutocannonHistogram & { sent: number };
    throughput: AutocannonHistogram;
  }

  /** One run's counters before aggregation (`skipAggregateResult: true`); merge with aggregateResult. */
  export interface AutocannonRawResult extends AutocannonCounters {
    totalCompletedRequests: number;
    /** Encoded latency histogram. */
    latencies: string;
  }

  export interface AutocannonInstance<R> extends EventEmitter, PromiseLike<R> {
    stop(): void;
  }

  function autocannon(options: AutocannonOptions & { skipAggregateResult: true }): AutocannonInstance<AutocannonRawResult>;
  function autocannon(options: AutocannonOptions): AutocannonInstance<AutocannonResult>;
  namespace autocannon {
    /** Merges raw results: latency percentiles over all of them (counters are summed, `duration` is the first one's). */
    function aggregateResult(results: AutocannonRawResult[], options: { url: string }): AutocannonResult;
  }
  export default autocannon;
}
