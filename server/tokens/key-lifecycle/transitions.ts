/**
 * The key life-cycle transitions, shared by the server (every start, scheduled rotation), the CLI
 * and the admin API. Each one reads the keys, decides with the rules (rules.ts), and asks the
 * store to apply it as a compare-and-set: if another process changed the active or next key in
 * between, the store refuses and the transition is decided again from the new state.
 */
import type { Config } from '../../config.js';
import type { AdminActor, KeyRecord, SigningKids, Store } from '../../store/index.js';
import { ConflictError, KeyImportError, RotationTooSoonError } from '../../errors.js';
import { isSealed, keyEncryptionOf, openPrivateKey, sealPrivateKey, type KeyEncryption } from '../key-encryption.js';
import { DEFAULT_KEY_BITS, generateSigningKey, type NewKey } from './key-pairs.js';
import { graceMs, keyPolicyOf, nextKeySafeFrom, scheduledRotationAt, signingKeysOf, signingKidsOf, type KeyPolicy } from './rules.js';

export interface KeyLifecycle {
  store: Store;
  policy: KeyPolicy;
  encryption: KeyEncryption | null;
  /** ms since epoch; injectable so tests control the clock. */
  now: () => number;
  /** The administrator a change is made for (admin API): every transition re-checks them in its own transaction. */
  actor?: AdminActor;
  /** Key pairs made ahead (keyPairsMissing), used before any new one is generated. */
  pregenerated?: NewKey[];
}

export type KeyLifecycleConfig = Pick<Config, 'tokenTtlSeconds' | 'consumerCacheMaxSeconds' | 'rotateEverySeconds' | 'keyEncryptionKey'>;

export function keyLifecycleOf(store: Store, config: KeyLifecycleConfig, now: () => number = Date.now, actor?: AdminActor): KeyLifecycle {
  return { store, policy: keyPolicyOf(config), encryption: keyEncryptionOf(config), now, ...(actor ? { actor } : {}) };
}

/** What a transition left: the key that signs, the next key, and the keys it took out of signing (retiring or retired). */
export interface KeyChange {
  active: KeyRecord;
  next: KeyRecord;
  replaced: KeyRecord[];
}

/** How often a transition is decided again after another process changed the keys first. */
const ATTEMPTS = 3;

/** Reads the keys and checks that new keys get the same protection at rest as the stored ones. */
async function readKeys(lc: KeyLifecycle): Promise<KeyRecord[]> {
  const records = await lc.store.listKeys();
  // A sealed store stays sealed, and only under its own key: opening each key proves it.
  for (const k of records) if (k.privateKey !== null && (lc.encryption !== null || isSealed(k.privateKey))) openPrivateKey(k.privateKey, lc.encryption);
  return records;
}

function sealed(lc: KeyLifecycle, key: NewKey): NewKey {
  return { ...key, privateKey: sealPrivateKey(key.privateKey, lc.encryption) };
}

/** A new key pair, sealed for the store. Transitions read the clock after generating (it takes a while), so a key is created before it is published. */
async function generated(lc: KeyLifecycle, bits: number): Promise<NewKey> {
  const ready = lc.pregenerated?.find((key) => key.bits === bits);
  if (ready) {
    lc.pregenerated!.splice(lc.pregenerated!.indexOf(ready), 1);
    return sealed(lc, ready);
  }
  return sealed(lc, await generateSigningKey(bits, lc.now()));
}

/**
 * The key pairs `ensureSigningKeys` would have to generate now for `records` (none when the store
 * has an active and a next key): a starting server makes them before it listens, so that writing
 * them later takes no time in which requests could find no key.
 */
export async function keyPairsMissing(records: readonly KeyRecord[], now: number = Date.now()): Promise<NewKey[]> {
  const { active, next } = signingKeysOf(records);
  if (active && next) return [];
  const bits = active?.bits ?? next?.bits ?? DEFAULT_KEY_BITS;
  const count = !active && !next ? 2 : 1;
  return Promise.all(Array.from({ length: count }, () => generateSigningKey(bits, now)));
}

/** The state after a transition that applied: `replaced` are the signing keys of `before` that no longer are. */
async function changeSince(lc: KeyLifecycle, before: SigningKids): Promise<KeyChange> {
  const records = await lc.store.listKeys();
  const { active, next } = signingKeysOf(records);
  if (!active || !next) throw new ConflictError('the keys changed during the transition; run it again');
  const replaced = records.filter((r) => (r.kid === before.active || r.kid === before.next) && r.kid !== active.kid && r.kid !== next.kid);
  return { active, next, replaced };
}

function conflict(): never {
  throw new ConflictError('the keys kept changing (other processes rotating at the same time); run it again');
}

/**
 * Every start (and before any rotation): the store has an active and a next key. An empty
 * store gets both; a store without a next key (upgraded, or a first `keys import`) gets one;
 * a next key without an active key (an upgraded store holding only a pending key) signs at
 * once, since nothing signs. Returns the change, or null when there was nothing to do.
 */
export async function ensureSigningKeys(lc: KeyLifecycle): Promise<KeyChange | null> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const records = await readKeys(lc);
    const { active, next } = signingKeysOf(records);
    if (active && next) return null;
    const expected = signingKidsOf(records);
    const bits = active?.bits ?? next?.bits ?? DEFAULT_KEY_BITS;
    const fresh = await generated(lc, bits);
    const applied = !active && !next
      ? await lc.store.replaceSigningKeys({ actor: lc.actor, expected, active: fresh, next: await generated(lc, bits), now: lc.now() })
      : !next
        ? await lc.store.replaceNextKey({ actor: lc.actor, expected, next: fresh, now: lc.now() })
        : await lc.store.promoteNextKey({ actor: lc.actor, expected: { active: null, next: next.kid }, newNext: fresh, previousNotAfter: lc.now(), now: lc.now() });
    if (applied) return changeSince(lc, expected);
  }
  return conflict();
}

/**
 * Routine rotation: the next key signs at once, a new next key (`bits`) is published, and the
 * previous key stays published for the grace. Refused (ERR_ROTATION_TOO_SOON) while the next key
 * is younger than the longest consumer cache, unless `force`.
 */
export async function rotateSigningKey(lc: KeyLifecycle, options: { bits: number; force: boolean }): Promise<KeyChange> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const records = await readKeys(lc);
    const { active, next } = signingKeysOf(records);
    if (!active || !next) {
      // Nothing signs yet: the key ensureSigningKeys activates is the rotation. An upgraded store
      // without a next key gets one now, which is then too recent to sign unless forced.
      const ensured = await ensureSigningKeys(lc);
      if (!active && ensured) return ensured;
      continue;
    }
    const now = lc.now();
    const safeFrom = nextKeySafeFrom(records, lc.policy)!;
    if (!options.force && now < safeFrom) {
      throw new RotationTooSoonError(
        `the next key ${next.kid} was published ${Math.floor((now - next.publishedAt) / 1000)} s ago; a consumer that cached the JWKS before then ` +
          `(up to --consumer-cache-max, ${lc.policy.consumerCacheMaxSeconds} s) would refuse its tokens. Rotate from ${new Date(safeFrom).toISOString()}, ` +
          'or force it now (--force, or "force": true) and accept that',
      );
    }
    const expected = { active: active.kid, next: next.kid };
    const newNext = await generated(lc, options.bits);
    const at = lc.now();
    if (await lc.store.promoteNextKey({ actor: lc.actor, expected, newNext, previousNotAfter: at + graceMs(lc.policy), now: at })) return changeSince(lc, expected);
  }
  return conflict();
}

/**
 * Emergency rotation (--revoke-current): the active key AND the next key leave the JWKS now and
 * their private keys are erased (both sat in the same store: if one leaked, assume both did); a
 * fresh key signs at once and a fresh next key is published. Verifiers that cached the JWKS and
 * do not refetch refuse the new tokens until their cache expires.
 */
export async function revokeSigningKeys(lc: KeyLifecycle, options: { bits: number }): Promise<KeyChange> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const expected = signingKidsOf(await readKeys(lc));
    const active = await generated(lc, options.bits);
    const next = await generated(lc, options.bits);
    // Every key that ever sat in this store is suspect: the ones still published after an earlier
    // rotation leave the JWKS too, so no token any of them signs verifies any more.
    if (await lc.store.replaceSigningKeys({ actor: lc.actor, expected, active, next, now: lc.now(), retireRetiring: true })) return changeSince(lc, expected);
  }
  return conflict();
}

/** A scheduled rotation that was due: applied here, or by another process first. */
export type ScheduledRotation = { rotated: KeyChange } | { rotatedElsewhere: true };

/**
 * A scheduled rotation (--rotate-every, or a promotion scheduled before the upgrade), if one is
 * due (null otherwise): whichever replica sees it due rotates, the store's compare-and-set makes
 * it happen exactly once, and the others learn that another process did it.
 */
export async function rotateIfDue(lc: KeyLifecycle): Promise<ScheduledRotation | null> {
  const records = await readKeys(lc);
  const due = scheduledRotationAt(records, lc.policy);
  const { next } = signingKeysOf(records);
  if (due === null || due > lc.now() || !next) return null;
  const expected = signingKidsOf(records);
  // The new next key keeps the size of the key it follows.
  const newNext = await generated(lc, next.bits);
  const at = lc.now();
  const applied = await lc.store.promoteNextKey({ actor: lc.actor, expected: { ...expected, next: next.kid }, newNext, previousNotAfter: at + graceMs(lc.policy), now: at });
  return applied ? { rotated: await changeSince(lc, expected) } : { rotatedElsewhere: true };
}

/**
 * `keys import`: into a store without an active key the imported key signs at once (there is no
 * consumer to publish ahead of) and a next key is generated beside it; into a store with an
 * active key it becomes the next key (the previous next key, which never signed, is retired) and
 * signs at the next rotation.
 */
export async function importSigningKey(lc: KeyLifecycle, key: NewKey): Promise<KeyChange & { imported: KeyRecord }> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const records = await readKeys(lc);
    const existing = records.find((k) => k.kid === key.kid);
    if (existing) throw new KeyImportError(`key ${key.kid} is already in the store (${existing.state}); a key is never used twice`);
    const expected = signingKidsOf(records);
    const applied = expected.active === null
      ? await lc.store.replaceSigningKeys({ actor: lc.actor, expected, active: sealed(lc, key), next: await generated(lc, key.bits), now: lc.now() })
      : await lc.store.replaceNextKey({ actor: lc.actor, expected, next: sealed(lc, key), now: lc.now() });
    if (applied) {
      const change = await changeSince(lc, expected);
      return { ...change, imported: change.active.kid === key.kid ? change.active : change.next };
    }
  }
  return conflict();
}

/** Retiring keys past their notAfter become retired (private key erased); what every CLI command applies when it opens the store. */
export function retireExpiredKeys(store: Store, now: number): Promise<number> {
  return store.retireExpiredKeys(now);
}

/** What falls due with time, applied by a running server: retirements, then a scheduled rotation. */
export async function applyDueKeyChanges(lc: KeyLifecycle): Promise<ScheduledRotation | null> {
  await retireExpiredKeys(lc.store, lc.now());
  return rotateIfDue(lc);
}
