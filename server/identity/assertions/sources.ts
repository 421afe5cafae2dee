/**
 * The two assertion verifiers as the identity pipeline uses them: a synchronous `cached` answer
 * for a token seen before (the hot path: one map lookup), and `verify` for the rest (signature,
 * key fetch, claims mapping, then cached until the token expires). Both give an AssertedIdentity
 * or reject with InvalidAssertionError (401) or AssertionKeysUnavailableError (503).
 */
import { AlbKeyFetcher, type AlbKeyFetcherOptions } from './alb-keys.js';
import { albSignatureTwin, decodeUnverifiedAssertion, verifyAlbAssertion } from './alb-token.js';
import { AssertionCache, type AssertionCacheOptions } from './cache.js';
import { mapClaims, type AssertedIdentity, type AssertionSourceKind, type ClaimMapping } from './claims.js';
import { InvalidAssertionError } from '../../errors.js';
import type { AlbSettings, TrustedJwtSettings } from './options.js';
import { TrustedJwtVerifier, type TrustedJwtVerifierOptions } from './trusted-jwt.js';

export interface AssertionVerifier {
  readonly kind: AssertionSourceKind;
  /** The lower-case name of the request header that carries the assertion. */
  readonly header: string;
  /** The identity for a token verified before and still valid; undefined otherwise. No I/O. */
  cached(token: string): AssertedIdentity | undefined;
  verify(token: string): Promise<AssertedIdentity>;
}

/** Knobs for tests and tuning; the defaults suit production. */
export interface VerifierTuning {
  now?: () => number;
  clockToleranceSeconds?: number;
  cache?: Omit<AssertionCacheOptions, 'now' | 'graceMs' | 'twinOf'>;
  keys?: Omit<AlbKeyFetcherOptions, 'keyUrlTemplate' | 'now'>;
  jwks?: Pick<TrustedJwtVerifierOptions, 'timeoutMs' | 'failureTtlMs' | 'jwksMaxAgeMs' | 'jwksCooldownMs'>;
}

export const ALB_ASSERTION_HEADER = 'x-amzn-oidc-data';

function verifierOf(kind: AssertionSourceKind, header: string, check: (token: string) => Promise<AssertedIdentity>, tuning: VerifierTuning, twinOf?: (token: string) => string | undefined): AssertionVerifier {
  const cache = new AssertionCache(check, {
    ...tuning.cache,
    graceMs: (tuning.clockToleranceSeconds ?? 30) * 1000,
    ...(twinOf ? { twinOf } : {}),
    ...(tuning.now ? { now: tuning.now } : {}),
  });
  return Object.freeze({
    kind,
    header,
    cached: (token: string) => cache.cached(token),
    verify: (token: string) => cache.verify(token),
  });
}

export function createAlbVerifier(settings: AlbSettings, mapping: ClaimMapping, tuning: VerifierTuning = {}): AssertionVerifier {
  const clock = { ...(tuning.now ? { now: tuning.now } : {}), ...(tuning.clockToleranceSeconds !== undefined ? { clockToleranceSeconds: tuning.clockToleranceSeconds } : {}) };
  if (settings.bypassValidation) {
    return verifierOf('alb', ALB_ASSERTION_HEADER, async (token) => mapClaims(decodeUnverifiedAssertion(token, clock), mapping, 'alb'), tuning);
  }
  const keys = new AlbKeyFetcher({ ...tuning.keys, keyUrlTemplate: settings.keyUrlTemplate!, ...(tuning.now ? { now: tuning.now } : {}) });
  const options = { ...clock, arn: settings.arn!, clientId: settings.clientId, issuer: settings.issuer };
  return verifierOf('alb', ALB_ASSERTION_HEADER, async (token) => mapClaims(await verifyAlbAssertion(token, keys, options), mapping, 'alb'), tuning, albSignatureTwin);
}

export function createTrustedJwtVerifier(settings: TrustedJwtSettings, mapping: ClaimMapping, tuning: VerifierTuning = {}): AssertionVerifier {
  const verifier = new TrustedJwtVerifier({
    ...tuning.jwks,
    ...(tuning.now ? { now: tuning.now } : {}),
    ...(tuning.clockToleranceSeconds !== undefined ? { clockToleranceSeconds: tuning.clockToleranceSeconds } : {}),
    jwksUrl: settings.jwksUrl,
    algorithms: settings.algorithms,
    issuer: settings.issuer,
    audience: settings.audience,
  });
  return verifierOf('trusted-jwt', settings.header, async (token) => mapClaims(await verifier.verify(token), mapping, 'trusted-jwt'), tuning);
}

/**
 * The token in an assertion header as Node gives it (`req.headers[name]`): undefined when the
 * header is absent or empty; a `Bearer ` prefix is removed (proxies that send the token as an
 * authorization value). A header sent twice is refused: which copy to believe is not ours to guess.
 * (Node joins repeated custom headers with ", " in `req.headers`; no token contains a comma.)
 */
export function assertionToken(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    if (value.length > 1) throw new InvalidAssertionError('duplicate', 'the request carries the assertion header more than once');
    return assertionToken(value[0]);
  }
  const trimmed = value.trim();
  const token = /^bearer\s/i.test(trimmed) ? trimmed.slice(7).trim() : trimmed;
  if (token.includes(',')) throw new InvalidAssertionError('duplicate', 'the request carries the assertion header more than once');
  return token === '' ? undefined : token;
}
