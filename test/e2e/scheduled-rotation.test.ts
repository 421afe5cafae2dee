/**
 * --rotate-every with several replicas on one store: each arms a timer for the same due time,
 * all of them attempt the rotation at once, the store's compare-and-set lets exactly one apply
 * it, and that one audits it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { openStore } from '../../server/store/index.js';
import { adminJson, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startRecorder } from '../helpers/recorder.js';
import { tempDir } from '../helpers/process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scheduled rotation', () => {
  it('three processes racing a scheduled rotation rotate once, audited once, and all sign with the same new key', async (t) => {
    // Short periods for a test: 4 s between rotations; nothing caches the JWKS.
    const args = ['--rotate-every', '4s', '--consumer-cache-max', '0', '--jwks-max-age', '0', '--token-ttl', '10'];
    const dataDir = tempDir();
    const replicas: TestGateway[] = [];
    const upstream = await startRecorder();
    try {
      replicas.push(await startGateway({ dataDir, args }));
      replicas.push(...(await Promise.all([startGateway({ dataDir, args }), startGateway({ dataDir, args })])));
      await adminJson(replicas[0]!, 'PUT', '/admin/proxy', { url: upstream.url });
      const store = openStore({ dataDir, create: false });
      const first = await store.listKeys();
      await store.close();
      const activatedAt = first.find((k) => k.state === 'active')!.activatesAt!;
      const promoted = first.find((k) => k.state === 'next')!.kid;
      // Due at activatedAt + 4 s; the next one 4 s after that. Look in between.
      await sleep(Math.max(0, activatedAt + 6000 - Date.now()));

      const audit = fs.readFileSync(path.join(dataDir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { actor: string; action: string; target: string; details: { mode: string; rotateEverySeconds: number } });
      const rotations = audit.filter((l) => l.action === 'key.rotate');
      assert.deepEqual(rotations.map((l) => [l.actor, l.target, l.details.mode, l.details.rotateEverySeconds]), [['scheduler', promoted, 'scheduled', 4]], 'audited once');
      const outputs = replicas.map((r) => r.output());
      const rotatedHere = outputs.filter((o) => o.includes('"msg":"scheduled key rotation"')).length;
      const rotatedElsewhere = outputs.filter((o) => o.includes('scheduled key rotation done by another process')).length;
      assert.equal(rotatedHere, 1, 'exactly one process rotated');
      // Diagnostic, not a condition: how many lost the compare-and-set (the race was real when > 0).
      t.diagnostic(`scheduled rotation: 1 process rotated, ${rotatedElsewhere} found it done by another`);

      const after = openStore({ dataDir, create: false });
      const keys = await after.listKeys();
      await after.close();
      assert.deepEqual(keys.map((k) => k.state).sort(), ['active', 'next', 'retiring'], 'one rotation: no second key promoted');
      const active = keys.find((k) => k.state === 'active')!;
      assert.equal(active.kid, promoted);
      assert.ok(active.activatesAt! >= activatedAt + 4000, 'not before it was due');
      // Every replica signs with the promoted key (a loaded machine may delay a replica's view by
      // a poll or two: give each until just before the next rotation is due).
      for (const replica of replicas) {
        let kid: string | undefined;
        while (kid !== promoted && Date.now() < activatedAt + 7500) {
          await fetch(`${replica.url}/proxy/`);
          kid = decodeProtectedHeader(String(upstream.requests.at(-1)!.headers.authorization).replace('Bearer ', '')).kid;
          if (kid !== promoted) await sleep(100);
        }
        assert.equal(kid, promoted, replica.url);
      }
    } finally {
      await upstream.close();
      await Promise.all(replicas.map((r) => r.stop()));
    }
  });
});
