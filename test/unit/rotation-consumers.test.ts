/**
 * JWKS consumers across key changes, over days, with an injected clock: the real StoreView (the
 * server's view of the store, which applies due changes) on a real SQLite store mints every
 * token; Grafana-like and refetching verifiers (test/helpers/jwks-verifiers.ts) fetch the JWKS
 * the StoreView would serve and verify each token on the same clock.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { JSONWebKeySet } from 'jose';
import { openAuditLog } from '../../server/audit.js';
import { createLogger } from '../../server/log.js';
import { loadConfig } from '../../server/config.js';
import { StoreView } from '../../server/gateway/store-view.js';
import { openStore } from '../../server/store/index.js';
import { ensureSigningKeys, keyLifecycleOf, revokeSigningKeys } from '../../server/tokens/index.js';
import { GRAFANA_CACHE_MS, grafanaLike, refetchingVerifier, type JwksVerifier } from '../helpers/jwks-verifiers.js';
import { tempDir } from '../helpers/process.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const T0 = Date.UTC(2030, 0, 1);
const alice = { name: 'Alice', roles: ['ROLE_USER'] };

async function setup(rotateEverySeconds: number | null) {
  const clock = { t: T0 };
  const now = () => clock.t;
  const dir = tempDir();
  const store = openStore({ dataDir: dir });
  const config = { ...loadConfig({}, {}), consumerCacheMaxSeconds: 3600, rotateEverySeconds, keyEncryptionKey: null };
  const auditFile = path.join(dir, 'audit.log');
  await ensureSigningKeys(keyLifecycleOf(store, config, now));
  const view = new StoreView({ store, config, log: createLogger('silent'), audit: openAuditLog(auditFile, now), now });
  await view.refresh();
  const jwks = async () => JSON.parse(view.keys.jwksJson) as JSONWebKeySet;
  const audit = () => (fs.existsSync(auditFile) ? fs.readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { actor: string; action: string; target: string }) : []);
  return { clock, now, store, config, view, jwks, audit };
}

describe('JWKS consumers across key changes (injected clock)', () => {
  it('a scheduled rotation (--rotate-every 30d) is invisible to Grafana-like verifiers, whenever in the hour before it they fetched', async () => {
    const { clock, now, store, view, jwks, audit } = await setup(30 * 86_400);
    const firstKid = view.keys.active!.kid;
    const rotationAt = T0 + 30 * DAY;
    // Twelve Grafanas, fetching for the first time at 5-minute intervals during the 59 minutes before
    // the rotation, and one that first fetches 2 minutes after it (it must still verify the
    // last token the old key signed).
    const grafanas: Array<{ startsAt: number; verifier: JwksVerifier }> = [];
    for (let i = 0; i < 12; i++) grafanas.push({ startsAt: rotationAt - 59 * MINUTE + i * 5 * MINUTE, verifier: grafanaLike({ fetchJwks: jwks, now, issuer: 'jwtgate' }) });
    const late = grafanaLike({ fetchJwks: jwks, now, issuer: 'jwtgate' });
    const refetching = refetchingVerifier({ fetchJwks: jwks, now, issuer: 'jwtgate' });

    const failures: string[] = [];
    const kids = new Set<string>();
    let lastOldToken = '';
    clock.t = rotationAt - 70 * MINUTE;
    for (; clock.t <= rotationAt + 70 * MINUTE; clock.t += MINUTE) {
      await view.refresh();
      const token = await view.minter.mint(alice);
      const kid = view.minter.kid!;
      kids.add(kid);
      if (kid === firstKid) lastOldToken = token;
      for (const { startsAt, verifier } of grafanas) {
        if (clock.t < startsAt) continue;
        const result = await verifier.verify(token);
        if (result !== 'ok') failures.push(`${new Date(clock.t).toISOString()} grafana from ${new Date(startsAt).toISOString()}: ${result}`);
      }
      const byRefetching = await refetching.verify(token);
      if (byRefetching !== 'ok') failures.push(`refetching: ${byRefetching}`);
      if (clock.t === rotationAt) {
        assert.notEqual(kid, firstKid, 'the rotation happened at its due time');
        for (const { verifier } of grafanas) assert.deepEqual([verifier.fetches, verifier.kids.includes(kid)], [1, true], 'verified with the JWKS fetched before the rotation');
      }
      if (clock.t === rotationAt + 2 * MINUTE) {
        const result = await late.verify(lastOldToken);
        if (result !== 'ok') failures.push(`a token of the old key, 2 min after the rotation: ${result}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.equal(kids.size, 2, 'one rotation');
    const rotations = audit().filter((l) => l.action === 'key.rotate');
    assert.deepEqual(rotations.map((l) => [l.actor, l.target]), [['scheduler', view.keys.active!.kid]]);
    // The old key is published for token TTL + consumer cache (65 min) after the rotation, then retired.
    const old = (await store.listKeys()).find((k) => k.kid === firstKid)!;
    assert.equal(old.notAfter, rotationAt + 65 * MINUTE);
    assert.equal(old.state, 'retired');
    assert.equal(old.privateKey, null);
    assert.ok(!view.keys.published.has(firstKid));
    await store.close();
  });

  it('an emergency rotation breaks a Grafana-like verifier exactly as documented: new tokens refused until its cache expires, then accepted', async () => {
    const { clock, now, store, view, jwks } = await setup(null);
    const grafana = grafanaLike({ fetchJwks: jwks, now, issuer: 'jwtgate' });
    const refetching = refetchingVerifier({ fetchJwks: jwks, now, issuer: 'jwtgate' });
    assert.equal(await grafana.verify(await view.minter.mint(alice)), 'ok');
    assert.equal(await refetching.verify(await view.minter.mint(alice)), 'ok');
    const fetchedAt = clock.t;
    const revokedKid = view.keys.active!.kid;
    clock.t += 9 * MINUTE;
    const revokedToken = await view.minter.mint(alice);

    clock.t += MINUTE;
    await revokeSigningKeys(keyLifecycleOf(store, { tokenTtlSeconds: 300, consumerCacheMaxSeconds: 3600, rotateEverySeconds: null, keyEncryptionKey: null }, now), { bits: 2048 });
    await view.refresh();
    assert.ok(!view.keys.published.has(revokedKid), 'the revoked key left the JWKS at once');
    // Revocation reaches a verifier when it fetches the JWKS again, not before.
    assert.equal(await grafana.verify(revokedToken), 'ok', 'a cache still holding the revoked key accepts its tokens');
    const freshVerifier = refetchingVerifier({ fetchJwks: jwks, now, issuer: 'jwtgate' });
    assert.match(await freshVerifier.verify(revokedToken), /no applicable key/, 'a verifier fetching now refuses them');
    const refused: number[] = [];
    for (; clock.t < fetchedAt + GRAFANA_CACHE_MS + 5 * MINUTE; clock.t += MINUTE) {
      const token = await view.minter.mint(alice);
      if ((await grafana.verify(token)) !== 'ok') refused.push(clock.t);
      assert.equal(await refetching.verify(token), 'ok', 'a verifier that refetches on an unknown kid recovers at once');
    }
    assert.equal(refused[0], fetchedAt + 10 * MINUTE, 'refused from the emergency rotation...');
    assert.equal(refused.at(-1), fetchedAt + GRAFANA_CACHE_MS - MINUTE, '...until its cache expired');
    assert.equal(refused.length, 50);
    assert.equal(grafana.fetches, 2);
    await store.close();
  });
});
