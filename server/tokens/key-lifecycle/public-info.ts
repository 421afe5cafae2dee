/** What may leave the store about keys (CLI output, admin API, audit details): never private material. */
import type { KeyRecord } from '../../store/index.js';
import type { KeyChange } from './transitions.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function publicKeyInfo(key: KeyRecord) {
  return {
    kid: key.kid,
    state: key.state,
    bits: key.bits,
    createdAt: iso(key.createdAt),
    publishedAt: iso(key.publishedAt),
    activatesAt: iso(key.activatesAt),
    notAfter: iso(key.notAfter),
  };
}

export type PublicKeyInfo = ReturnType<typeof publicKeyInfo>;

/** The answer of a rotation: the key that signs now, the next key, and the keys taken out of signing. */
export function keyChangeInfo(change: KeyChange) {
  return { active: publicKeyInfo(change.active), next: publicKeyInfo(change.next), replaced: change.replaced.map(publicKeyInfo) };
}

/** The audit details of a key change: kids and times, no key material. */
export function keyChangeAudit(change: KeyChange, mode: 'routine' | 'forced' | 'emergency' | 'scheduled' | 'import' | 'first keys') {
  return {
    mode,
    active: change.active.kid,
    next: change.next.kid,
    replaced: change.replaced.map((k) => ({ kid: k.kid, state: k.state, notAfter: iso(k.notAfter) })),
  };
}
