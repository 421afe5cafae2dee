/**
 * The queue in front of scrypt. A password check costs ~90 ms of a core, so at most
 * `concurrency` run at once and the rest wait here. The queue is built so that a flood of
 * checks from some clients cannot stall everybody else's login:
 *
 * - one lane per client (its throttle key: the address, an IPv6 /64), and lanes grouped by
 *   network (an IPv4 /24, an IPv6 /48): groups take turns, then the lanes of a group take
 *   turns. So a check waits for about one check of every other busy network, however many
 *   addresses (or /64s) each network uses and however deep their lanes are;
 * - three tiers: `single` (a client with just this one check, e.g. a person logging in), `bulk`
 *   (a client with several checks queued or running at once: a script, a NAT, a flood) and
 *   `suspect` (a client with recent failed logins). Of every 8 turns, 6 go to `single`, 1 to
 *   `bulk` and 1 to `suspect`; a turn whose tier has nothing waiting goes to the first that has.
 *   So a person's first login waits about one hash per busy network, and no tier starves;
 * - the queue is bounded: when full, the newest check of the deepest lane is refused to make room,
 *   so a newcomer always gets a place;
 * - a check that waited `maxWaitMs` is refused (LoginBusyError: 503 with Retry-After) rather than
 *   left to wait without bound; a refused check leaves its lane at once.
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

/** `clean`: the client has no recent failed logins; `suspect`: it has (its checks go last). */
export type LanePriority = 'clean' | 'suspect';

/** Where a check waits: its client's lane, that client's network (group), and its priority. */
export interface HashPlace {
  lane: string;
  group: string;
  priority: LanePriority;
}

type Tier = 'single' | 'bulk' | 'suspect';

/** Whose turn it is, slot by slot. */
const TURNS: readonly Tier[] = ['single', 'single', 'single', 'bulk', 'single', 'single', 'single', 'suspect'];
const FALLBACK: readonly Tier[] = ['single', 'bulk', 'suspect'];

interface Job {
  lane: Lane;
  start: () => void;
  refuse: (err: Error) => void;
  timer: NodeJS.Timeout;
}

interface Lane {
  key: string;
  group: string;
  tier: Tier;
  jobs: Job[];
}

/** A tier: groups in turn order, each with its lanes in turn order (a Map keeps insertion order). */
type TierLanes = Map<string, Map<string, Lane>>;

export class HashQueue {
  readonly concurrency: number;
  readonly #maxWaitMs: number;
  readonly #maxQueued: number;
  readonly #tiers: Record<Tier, TierLanes> = { single: new Map(), bulk: new Map(), suspect: new Map() };
  /** Lanes with waiting checks. */
  readonly #lanes = new Map<string, Lane>();
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

  /** Checks running and waiting now, and lanes holding waiting checks (for tests and metrics). */
  get load(): { running: number; queued: number; lanes: number } {
    return { running: this.#running, queued: this.#queued, lanes: this.#lanes.size };
  }

  /** Runs `task` when it is this place's turn; rejects with LoginBusyError when it waited too long or was pushed out. */
  run<T>(place: HashPlace, task: () => Promise<T>): Promise<T> {
    if (this.#running < this.concurrency && this.#queued === 0) return this.#execute(place.lane, task);
    return new Promise<T>((resolve, reject) => {
      if (this.#queued >= this.#maxQueued) this.#pushOutDeepest();
      const lane = this.#laneFor(place);
      const job: Job = {
        lane,
        start: () => this.#execute(place.lane, task).then(resolve, reject),
        refuse: reject,
        timer: setTimeout(() => this.#refuse(job, 'waited too long for a password check'), this.#maxWaitMs),
      };
      job.timer.unref();
      lane.jobs.push(job);
      this.#queued++;
    });
  }

  /** The lane a new check of `place` joins, moved to the tier that check puts it in. */
  #laneFor(place: HashPlace): Lane {
    let lane = this.#lanes.get(place.lane);
    const busy = lane !== undefined || this.#runningIn.has(place.lane);
    const tier: Tier = place.priority === 'suspect' || lane?.tier === 'suspect' ? 'suspect' : busy ? 'bulk' : 'single';
    if (!lane) {
      lane = { key: place.lane, group: place.group, tier, jobs: [] };
      this.#lanes.set(lane.key, lane);
      this.#enter(lane);
    } else if (lane.tier !== tier) {
      // A second check of the same client (not one person logging in), or a client now suspect.
      this.#leave(lane);
      lane.tier = tier;
      this.#enter(lane);
    }
    return lane;
  }

  #enter(lane: Lane): void {
    const tier = this.#tiers[lane.tier];
    let group = tier.get(lane.group);
    if (!group) tier.set(lane.group, (group = new Map()));
    group.set(lane.key, lane);
  }

  #leave(lane: Lane): void {
    const tier = this.#tiers[lane.tier];
    const group = tier.get(lane.group);
    group?.delete(lane.key);
    if (group?.size === 0) tier.delete(lane.group);
  }

  /** Takes a job out of its lane; a lane left empty leaves the queue. */
  #remove(job: Job): void {
    const { lane } = job;
    const at = lane.jobs.indexOf(job);
    if (at >= 0) lane.jobs.splice(at, 1);
    this.#queued--;
    if (lane.jobs.length === 0) {
      this.#leave(lane);
      this.#lanes.delete(lane.key);
    }
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
    clearTimeout(job.timer);
    this.#remove(job);
    job.refuse(new LoginBusyError(`too many logins at once (${why}); try again shortly`, Math.max(1, Math.ceil(this.#maxWaitMs / 1000))));
  }

  /** Makes room by refusing the newest waiting check of the lane with the most waiting checks. */
  #pushOutDeepest(): void {
    let deepest: Lane | undefined;
    for (const lane of this.#lanes.values()) if (!deepest || lane.jobs.length > deepest.jobs.length) deepest = lane;
    const job = deepest?.jobs.at(-1);
    if (job) this.#refuse(job, 'the queue is full');
  }

  /** The tier whose turn it is, or the first tier with work when that one has none. */
  #nextTier(): TierLanes | undefined {
    const slot = TURNS[this.#turn++ % TURNS.length]!;
    if (this.#tiers[slot].size > 0) return this.#tiers[slot];
    for (const tier of FALLBACK) if (this.#tiers[tier].size > 0) return this.#tiers[tier];
    return undefined;
  }

  #next(): void {
    while (this.#running < this.concurrency) {
      const tier = this.#nextTier();
      if (!tier) return;
      const [groupKey, group] = tier.entries().next().value as [string, Map<string, Lane>];
      const lane = group.values().next().value as Lane;
      // The lane goes to the back of its group, the group to the back of its tier.
      group.delete(lane.key);
      group.set(lane.key, lane);
      tier.delete(groupKey);
      tier.set(groupKey, group);
      const job = lane.jobs[0]!;
      clearTimeout(job.timer);
      this.#remove(job);
      job.start();
    }
  }
}
