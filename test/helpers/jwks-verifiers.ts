/**
 * Models of how real JWKS consumers cache, to check that a rotation never breaks them. Each
 * verifies with jose (RS512 pinned, issuer checked) against the key set it holds, on its own
 * clock, and only fetches when its own rules say so:
 * - `grafanaLike`: fetches the JWKS, keeps it for its cache TTL (Grafana `cache_ttl`, 60 min by
 *   default; Envoy `cache_duration` likewise), never refetches on an unknown kid;
 * - `refetchingVerifier`: like jose `createRemoteJWKSet` / PyJWT `PyJWKClient`: a cache TTL, and
 *   an unknown kid triggers a refetch unless the last fetch is younger than the cooldown.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';

export interface JwksVerifier {
  /** Resolves 'ok', or the reason the token was refused. */
  verify(token: string): Promise<string>;
  /** How many times it fetched the JWKS. */
  readonly fetches: number;
  /** The kids it holds now. */
  readonly kids: readonly string[];
}

export interface VerifierOptions {
  fetchJwks: () => Promise<JSONWebKeySet>;
  now: () => number;
  issuer: string;
  cacheMs: number;
  /** Refetch on an unknown kid unless the last fetch is younger than this; null: never refetch on an unknown kid. */
  refetchCooldownMs: number | null;
}

function cachingVerifier(options: VerifierOptions): JwksVerifier {
  let held: { set: ReturnType<typeof createLocalJWKSet>; at: number; kids: string[] } | undefined;
  let fetches = 0;
  let loading: Promise<void> | undefined;
  // Concurrent requests share one fetch, as a real client's cache does.
  const load = () =>
    (loading ??= options.fetchJwks().then((jwks) => {
      fetches++;
      held = { set: createLocalJWKSet(jwks), at: options.now(), kids: jwks.keys.map((k) => k.kid!) };
    }).finally(() => {
      loading = undefined;
    }));
  const check = async (token: string) => {
    await jwtVerify(token, held!.set, { algorithms: ['RS512'], issuer: options.issuer, currentDate: new Date(options.now()) });
    return 'ok';
  };
  return {
    get fetches() {
      return fetches;
    },
    get kids() {
      return held?.kids ?? [];
    },
    async verify(token) {
      if (!held || options.now() - held.at >= options.cacheMs) await load();
      try {
        return await check(token);
      } catch (err) {
        const unknownKid = (err as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY';
        if (!unknownKid || options.refetchCooldownMs === null || options.now() - held!.at < options.refetchCooldownMs) return (err as Error).message;
        await load();
        return check(token).catch((again: unknown) => (again as Error).message);
      }
    },
  };
}

export const GRAFANA_CACHE_MS = 60 * 60_000;

/** Grafana's JWT auth with its defaults: the JWKS cached 60 min, no refetch on an unknown kid. */
export function grafanaLike(options: Omit<VerifierOptions, 'cacheMs' | 'refetchCooldownMs'> & { cacheMs?: number }): JwksVerifier {
  return cachingVerifier({ cacheMs: GRAFANA_CACHE_MS, ...options, refetchCooldownMs: null });
}

/** jose createRemoteJWKSet's defaults: 10 min cache, refetch on an unknown kid after a 30 s cooldown. */
export function refetchingVerifier(options: Omit<VerifierOptions, 'cacheMs' | 'refetchCooldownMs'> & { cacheMs?: number; refetchCooldownMs?: number }): JwksVerifier {
  return cachingVerifier({ cacheMs: 10 * 60_000, refetchCooldownMs: 30_000, ...options });
}
