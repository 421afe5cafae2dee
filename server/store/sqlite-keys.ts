/**
 * The SQLite store's signing keys (see Store in types.ts): every transition of the active and
 * next keys is one IMMEDIATE transaction that checks the keys are still the ones the caller saw
 * (compare-and-set), so two replicas racing a scheduled rotation rotate once.
 */
import type Database from 'better-sqlite3';
import type { Changed } from './sqlite.js';
import type { AdminActor, KeyRecord, KeyState, NewKeyRecord, SigningKids, Store } from './types.js';

interface KeyRow {
  kid: string;
  state: KeyState;
  bits: number;
  created_at: number;
  published_at: number;
  activates_at: number | null;
  not_after: number | null;
  public_jwk: string;
  private_key: string | null;
}

const toKey = (row: KeyRow): KeyRecord => ({
  kid: row.kid,
  state: row.state,
  bits: row.bits,
  createdAt: row.created_at,
  publishedAt: row.published_at,
  activatesAt: row.activates_at,
  notAfter: row.not_after,
  publicJwk: row.public_jwk,
  privateKey: row.private_key,
});

interface KeyDeps {
  /** A write that bumps the revision (sqlite.ts). */
  write: <T>(fn: (changed: Changed) => T) => T;
  checkActor: (actor: AdminActor | undefined) => void;
  /** Bumps the revision inside the caller's transaction. */
  bump: () => void;
}

type KeyMethods = Pick<Store, 'listKeys' | 'promoteNextKey' | 'replaceNextKey' | 'replaceSigningKeys' | 'retireExpiredKeys' | 'rewritePrivateKeys'>;

export function sqliteKeys(db: Database.Database, { write, checkActor, bump }: KeyDeps): KeyMethods {
  const q = {
    listKeys: db.prepare<[], KeyRow>(`SELECT * FROM keys ORDER BY created_at, kid`),
    signingKeys: db.prepare<[], { kid: string; state: 'active' | 'next' }>(`SELECT kid, state FROM keys WHERE state IN ('active', 'next')`),
    insertKey: db.prepare<[{ kid: string; state: 'active' | 'next'; bits: number; createdAt: number; publishedAt: number; activatesAt: number | null; publicJwk: string; privateKey: string }]>(
      `INSERT INTO keys (kid, state, bits, created_at, published_at, activates_at, not_after, public_jwk, private_key) VALUES (@kid, @state, @bits, @createdAt, @publishedAt, @activatesAt, NULL, @publicJwk, @privateKey)`,
    ),
    activate: db.prepare(`UPDATE keys SET state = 'active', activates_at = ? WHERE kid = ?`),
    // A key that stops signing never signs again: its private key goes at once (only the
    // public key stays published until not_after), so a copy of the store taken later cannot sign with it.
    toRetiring: db.prepare(`UPDATE keys SET state = 'retiring', not_after = ?, private_key = NULL WHERE kid = ?`),
    retireAllRetiring: db.prepare(`UPDATE keys SET state = 'retired', not_after = ?, private_key = NULL WHERE state = 'retiring'`),
    retireNow: db.prepare(`UPDATE keys SET state = 'retired', not_after = ?, private_key = NULL WHERE kid = ?`),
    countExpired: db.prepare<[number], { n: number }>(`SELECT COUNT(*) AS n FROM keys WHERE state = 'retiring' AND not_after <= ?`),
    retireExpired: db.prepare(`UPDATE keys SET state = 'retired', private_key = NULL WHERE state = 'retiring' AND not_after <= ?`),
    setPrivateKey: db.prepare(`UPDATE keys SET private_key = ? WHERE kid = ?`),
  };

  /** Old page images in the WAL may still hold erased key material: fold them into the file now. */
  function purgeWal(): void {
    db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /**
   * A key transition: one IMMEDIATE transaction that first checks the active and next keys are
   * still `expected` (compare-and-set; false and no write otherwise), then applies `fn`, bumps
   * the revision, and purges erased key material from the WAL.
   */
  function keyTransition(expected: SigningKids, fn: (current: SigningKids) => void, actor?: AdminActor): boolean {
    const tx = db.transaction(() => {
      checkActor(actor);
      const current: SigningKids = { active: null, next: null };
      for (const row of q.signingKeys.all()) current[row.state] = row.kid;
      if (current.active !== expected.active || current.next !== expected.next) return false;
      fn(current);
      bump();
      return true;
    });
    const applied = tx.immediate();
    if (applied) purgeWal();
    return applied;
  }

  function insertKey(key: NewKeyRecord, state: 'active' | 'next', now: number): void {
    const { kid, bits, createdAt, publicJwk, privateKey } = key;
    q.insertKey.run({ kid, state, bits, createdAt, publishedAt: now, activatesAt: state === 'active' ? now : null, publicJwk, privateKey });
  }

  return {
    async listKeys() {
      return q.listKeys.all().map(toKey);
    },
    async promoteNextKey({ expected, newNext, previousNotAfter, now, actor }) {
      return keyTransition(expected, (current) => {
        if (current.active !== null) q.toRetiring.run(previousNotAfter, current.active);
        q.activate.run(now, expected.next);
        insertKey(newNext, 'next', now);
      }, actor);
    },
    async replaceNextKey({ expected, next, now, actor }) {
      return keyTransition(expected, (current) => {
        if (current.next !== null) q.retireNow.run(now, current.next);
        insertKey(next, 'next', now);
      }, actor);
    },
    async replaceSigningKeys({ expected, active, next, now, actor, retireRetiring }) {
      return keyTransition(expected, (current) => {
        for (const kid of [current.active, current.next]) if (kid !== null) q.retireNow.run(now, kid);
        if (retireRetiring) q.retireAllRetiring.run(now);
        insertKey(active, 'active', now);
        insertKey(next, 'next', now);
      }, actor);
    },
    async retireExpiredKeys(now) {
      // Read-only check first: most polls find nothing due and must not bump the revision.
      if ((q.countExpired.get(now)?.n ?? 0) === 0) return 0;
      const changed = write(() => q.retireExpired.run(now).changes);
      purgeWal();
      return changed;
    },
    async rewritePrivateKeys(map) {
      const changed = write(() => {
        let n = 0;
        for (const row of q.listKeys.all()) {
          if (row.private_key === null) continue;
          const next = map(row.kid, row.private_key);
          if (next !== row.private_key) n += q.setPrivateKey.run(next, row.kid).changes;
        }
        return n;
      });
      purgeWal();
      return changed;
    },
  };
}
