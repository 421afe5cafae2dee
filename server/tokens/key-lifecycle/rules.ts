/**
 * The rules of the key life cycle, as pure functions of the stored keys, a policy and the time.
 * transitions.ts decides with them and the store applies each transition atomically;
 * ../keyset.ts builds the published JWKS with `isPublished`.
 *
 *   next ──rotation──▶ active ──rotation──▶ retiring ──notAfter──▶ retired
 *   next ──replaced by an import, or emergency──▶ retired ◀──emergency── active
 *
 * Why a next key: a verifier that caches the JWKS and does not refetch on an unknown kid
 * (Grafana, Envoy) knows only the keys published when it fetched. The next key is published
 * since the previous rotation, so when a rotation makes it sign, every such cache holds it.
 */
import type { Config } from '../../config.js';
import type { KeyRecord, SigningKids } from '../../store/index.js';

export interface KeyPolicy {
  tokenTtlSeconds: number;
  /** The longest any consumer caches the JWKS (--consumer-cache-max, never below --jwks-max-age). */
  consumerCacheMaxSeconds: number;
  /** --rotate-every; null: no scheduled rotation. */
  rotateEverySeconds: number | null;
}

export function keyPolicyOf(config: Pick<Config, 'tokenTtlSeconds' | 'consumerCacheMaxSeconds' | 'rotateEverySeconds'>): KeyPolicy {
  return { tokenTtlSeconds: config.tokenTtlSeconds, consumerCacheMaxSeconds: config.consumerCacheMaxSeconds, rotateEverySeconds: config.rotateEverySeconds };
}

/** In the JWKS: the next and the active key, and retiring keys until their notAfter. */
export function isPublished(key: Pick<KeyRecord, 'state' | 'notAfter'>, now: number): boolean {
  return key.state === 'next' || key.state === 'active' || (key.state === 'retiring' && key.notAfter !== null && key.notAfter > now);
}

export function signingKeysOf(records: readonly KeyRecord[]): { active: KeyRecord | undefined; next: KeyRecord | undefined } {
  return { active: records.find((r) => r.state === 'active'), next: records.find((r) => r.state === 'next') };
}

export function signingKidsOf(records: readonly KeyRecord[]): SigningKids {
  const { active, next } = signingKeysOf(records);
  return { active: active?.kid ?? null, next: next?.kid ?? null };
}

/**
 * How long the previous active key stays published after a routine or scheduled rotation: a
 * token it signed just before lives --token-ttl, plus the longest consumer cache.
 */
export function graceMs(policy: KeyPolicy): number {
  return (policy.tokenTtlSeconds + policy.consumerCacheMaxSeconds) * 1000;
}

/**
 * From when the next key may sign without any consumer missing it: a JWKS fetched just before
 * the key was published may be cached --consumer-cache-max, so that long after. A next key
 * published with the very first key may sign at once: no JWKS without it was ever served. Any
 * key published earlier, or one that already stopped signing (a rotation happened, perhaps in
 * the same millisecond), means such a JWKS may have been served. null: there is no next key.
 */
export function nextKeySafeFrom(records: readonly KeyRecord[], policy: KeyPolicy): number | null {
  const { next } = signingKeysOf(records);
  if (!next) return null;
  const servedWithout = records.some((r) => r.kid !== next.kid && (r.publishedAt < next.publishedAt || r.state === 'retiring' || r.state === 'retired'));
  return servedWithout ? next.publishedAt + policy.consumerCacheMaxSeconds * 1000 : next.publishedAt;
}

/**
 * When a rotation falls due with nobody asking: --rotate-every after the active key started
 * signing, or the promotion a `pending` key had scheduled before the upgrade; never before the
 * next key is safe to sign with. null: none is due, ever, as things stand.
 */
export function scheduledRotationAt(records: readonly KeyRecord[], policy: KeyPolicy): number | null {
  const { active, next } = signingKeysOf(records);
  if (!next) return null;
  const due: number[] = [];
  if (next.activatesAt !== null) due.push(next.activatesAt);
  if (active && policy.rotateEverySeconds !== null) due.push((active.activatesAt ?? active.publishedAt) + policy.rotateEverySeconds * 1000);
  if (due.length === 0) return null;
  return Math.max(Math.min(...due), nextKeySafeFrom(records, policy)!);
}

/** The next time the keys change by themselves (a retiring key's notAfter, a scheduled rotation), or null. */
export function nextKeyChange(records: readonly KeyRecord[], policy: KeyPolicy): number | null {
  const times = records.flatMap((r) => (r.state === 'retiring' && r.notAfter !== null ? [r.notAfter] : []));
  const rotation = scheduledRotationAt(records, policy);
  if (rotation !== null) times.push(rotation);
  return times.length > 0 ? Math.min(...times) : null;
}
