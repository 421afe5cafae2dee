/**
 * The queue in front of scrypt. A password check costs ~90 ms of a core, so at most
 * `concurrency` run at once and the rest wait here. The queue is built so that a flood of
 * checks from some clients cannot stall everybody else's login:
 *
 * - one lane per client (its throttle key: the address, an IPv6 prefix); lanes take turns, so a
 *   check waits for at most one check of every other lane of its tier, however deep they are;
 * - three tiers: `single` (a client with just this one check, e.g. a person logging in), `bulk`
 *   (a client with several checks queued or running at once: a script, a NAT, a flood) and
 *   `suspect` (a client with a recent failed login). Of every 8 turns, 6 go to `single`, 1 to
 *   `bulk` and 1 to `suspect`; a turn whose tier has nothing waiting goes to the first that has.
 *   So a person's first login waits about one hash, whatever the floods do, and no tier starves;
 * - the queue is bounded: when full, the newest check of the deepest lane is refused to make room,
 *   so a newcomer always gets a place;
 * - a check that waited `maxWaitMs` is refused (LoginBusyError: 503 with Retry-After) rather than
 *   left to wait without bound.
 */
import { LoginBusyError } from '../errors.js';

export interface HashQueueOptions {
  /** Hashes running at once. */
  concurrency: number;
  /** Longest wait for a turn, ms; then LoginBusyError. */
  maxWaitMs: number;
  /** Checks waiting at once, over all lanes. */
  maxQueued?: number;
}

/** `clean`: the client has no recent failed login; `suspect`: it has (its checks go last). */
export type LanePriority = 'clean' | 'suspect';

type Tier = 'single' | 'bulk' | 'suspect';

/** Whose turn it is, slot by slot. */
const TURNS: readonly Tier[] = ['single', 'single', 'single', 'bulk', 'single', 'single', 'single', 'suspect'];
const FALLBACK: readonly Tier[] = ['single', 'bulk', 'suspect'];

interface Job {
  start: () => void;
  refuse: (err: Error) => void;
  timer: NodeJS.Timeout;
  done: boolean;
}

export class HashQueue {
  readonly concurrency: number;
  readonly #maxWaitMs: number;
  readonly #maxQueued: number;
  /** Lanes waiting for a turn, per tier, in turn order (a Map keeps insertion order). */
  readonly #tiers: Record<Tier, Map<string, Job[]>> = { single: new Map(), bulk: new Map(), suspect: new Map() };
  /** Checks running now, per lane. */
  readonly #runningIn = new Map<string, number>();
  #running = 0;
  #queued = 0;
  #turn = 0;

  constructor(options: HashQueueOptions) {
    this.concurrency = Math.max(1, options.concurrency);
    this.#maxWaitMs = options.maxWaitMs;
    this.#maxQueued = options.maxQueued ?? 1000;
  }

  /** Checks running and waiting now (for tests and metrics). */
  get load(): { running: number; queued: number } {
    return { running: this.#running, queued: this.#queued };
  }

  /** Runs `task` when it is this lane's turn; rejects with LoginBusyError when it waited too long or was pushed out. */
  run<T>(lane: string, priority: LanePriority, task: () => Promise<T>): Promise<T> {
    if (this.#running < this.concurrency && this.#queued === 0) return this.#execute(lane, task);
    return new Promise<T>((resolve, reject) => {
      if (this.#queued >= this.#maxQueued) this.#pushOutDeepest();
      const job: Job = {
        start: () => this.#execute(lane, task).then(resolve, reject),
        refuse: reject,
        timer: setTimeout(() => this.#refuse(job, 'waited too long for a password check'), this.#maxWaitMs),
        done: false,
      };
      job.timer.unref();
      this.#enqueue(lane, priority, job);
      this.#queued++;
    });
  }

  #enqueue(lane: string, priority: LanePriority, job: Job): void {
    const { single, bulk, suspect } = this.#tiers;
    if (priority === 'suspect') {
      const jobs = suspect.get(lane) ?? single.get(lane) ?? bulk.get(lane);
      single.delete(lane);
      bulk.delete(lane);
      if (jobs) jobs.push(job);
      suspect.set(lane, jobs ?? [job]);
      return;
    }
    const waiting = suspect.get(lane) ?? bulk.get(lane);
    if (waiting) return void waiting.push(job);
    const alone = single.get(lane);
    if (alone) {
      // A second check of the same client: it is not one person logging in.
      single.delete(lane);
      alone.push(job);
      bulk.set(lane, alone);
      return;
    }
    (this.#runningIn.has(lane) ? bulk : single).set(lane, [job]);
  }

  async #execute<T>(lane: string, task: () => Promise<T>): Promise<T> {
    this.#running++;
    this.#runningIn.set(lane, (this.#runningIn.get(lane) ?? 0) + 1);
    try {
      return await task();
    } finally {
      this.#running--;
      const left = this.#runningIn.get(lane)! - 1;
      if (left === 0) this.#runningIn.delete(lane);
      else this.#runningIn.set(lane, left);
      this.#next();
    }
  }

  #refuse(job: Job, why: string): void {
    if (job.done) return;
    job.done = true;
    clearTimeout(job.timer);
    this.#queued--;
    job.refuse(new LoginBusyError(`too many logins at once (${why}); try again shortly`, Math.max(1, Math.ceil(this.#maxWaitMs / 1000))));
  }

  /** Makes room by refusing the newest waiting check of the lane with the most waiting checks. */
  #pushOutDeepest(): void {
    let deepest: Job[] | undefined;
    for (const tier of Object.values(this.#tiers)) {
      for (const jobs of tier.values()) if (!deepest || jobs.length > deepest.length) deepest = jobs;
    }
    // Refused jobs stay in their lane until its turn: skip them.
    for (let job = deepest?.pop(); job; job = deepest!.pop()) {
      if (job.done) continue;
      this.#refuse(job, 'the queue is full');
      return;
    }
  }

  /** The tier whose turn it is, or the first tier with work when that one has none. */
  #nextTier(): Map<string, Job[]> | undefined {
    const slot = TURNS[this.#turn++ % TURNS.length]!;
    if (this.#tiers[slot].size > 0) return this.#tiers[slot];
    for (const tier of FALLBACK) if (this.#tiers[tier].size > 0) return this.#tiers[tier];
    return undefined;
  }

  #next(): void {
    while (this.#running < this.concurrency) {
      const tier = this.#nextTier();
      if (!tier) return;
      const [lane, jobs] = tier.entries().next().value as [string, Job[]];
      const job = jobs.shift()!;
      // The lane goes to the back of its tier's line; an empty one leaves it.
      tier.delete(lane);
      if (jobs.length > 0) tier.set(lane, jobs);
      if (job.done) continue;
      job.done = true;
      clearTimeout(job.timer);
      this.#queued--;
      job.start();
    }
  }
}
