/**
 * A worker thread of store-sqlite.test.ts, with its own connection to the store. In each round
 * every worker waits for the others (a barrier on shared memory), then all create a session for
 * the round's user at once, under a cap of one: only a cap checked in the insert's own
 * transaction leaves one live session per user. Reports how many sessions its logins ended.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../../server/store/index.js';

const { dataDir, worker, workers, rounds, arrived } = workerData as { dataDir: string; worker: number; workers: number; rounds: number; arrived: Int32Array };
const store = openStore({ dataDir, create: false });

/** Returns once every worker has reached `round`. */
function barrier(round: number): void {
  Atomics.add(arrived, 0, 1);
  Atomics.notify(arrived, 0);
  const everyone = workers * (round + 1);
  for (let seen = Atomics.load(arrived, 0); seen < everyone; seen = Atomics.load(arrived, 0)) Atomics.wait(arrived, 0, seen);
}

let ended = 0;
for (let round = 0; round < rounds; round++) {
  barrier(round);
  const now = Date.now();
  const id = `r${round}-w${worker}`;
  const record = { idHash: `hash-${id}`, handle: id, user: `user-${round}`, createdAt: now, lastSeenAt: now, idleExpiresAt: now + 3_600_000, expiresAt: now + 3_600_000, clientAddress: '203.0.113.1', userAgent: 'worker' };
  ended += (await store.createSession(record, { maxPerUser: 1 })).length;
}
await store.close();
parentPort!.postMessage(ended);
