/**
 * A standard JWT from a proxy that already authenticated the user (oauth2-proxy, Pomerium's
 * `X-Pomerium-Jwt-Assertion`, Cloudflare Access's `Cf-Access-Jwt-Assertion`, ...), checked with
 * jose against the proxy's JWKS. Only algorithms from the configured allow-list are accepted
 * (asymmetric ones only: never `none`, never HMAC, so a public key can never be used as a shared
 * secret); `exp` is required; issuer and audience are checked when configured.
 *
 * jose's remote key set fetches with a timeout and caches the set; on top of it, a failed fetch
 * is remembered for `failureTtlMs`, so while the JWKS server is down, requests that would need it
 * get a 503 at once instead of each waiting for the timeout.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { AssertionKeysUnavailableError, GatewayError, InvalidAssertionError, type AssertionRejection } from '../../errors.js';
import { MAX_ASSERTION_LENGTH, type VerifiedAssertion } from './alb-token.js';

/** Asymmetric JWS algorithms jose verifies; the allow-list is chosen from these. */
export const TRUSTED_JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type TrustedJwtAlgorithm = (typeof TRUSTED_JWT_ALGORITHMS)[number];

export interface TrustedJwtVerifierOptions {
  jwksUrl: URL;
  algorithms: readonly TrustedJwtAlgorithm[];
  /** When set, `iss` must be equal to it. */
  issuer: string | null;
  /** When set, `aud` must contain one of these. */
  audience: readonly string[] | null;
  clockToleranceSeconds?: number;
  /** JWKS fetch timeout. */
  timeoutMs?: number;
  /** How long a failed JWKS fetch is remembered. */
  failureTtlMs?: number;
  /** How long a fetched JWKS is used before it is fetched again. */
  jwksMaxAgeMs?: number;
  /** Least time between two fetches caused by an unknown kid. */
  jwksCooldownMs?: number;
  now?: () => number;
}

type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>;

export class TrustedJwtVerifier {
  readonly #options: TrustedJwtVerifierOptions;
  readonly #remote: RemoteKeySet;
  readonly #failureTtlMs: number;
  readonly #now: () => number;
  #failure: { until: number; error: AssertionKeysUnavailableError } | null = null;

  constructor(options: TrustedJwtVerifierOptions) {
    this.#options = options;
    this.#remote = createRemoteJWKSet(options.jwksUrl, {
      timeoutDuration: options.timeoutMs ?? 3000,
      cacheMaxAge: options.jwksMaxAgeMs ?? 600_000,
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
    });
    this.#failureTtlMs = options.failureTtlMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Resolves the key through jose's remote set; fetch failures become a 503 and are remembered. */
  readonly #key: JWTVerifyGetKey = async (header, token) => {
    const failure = this.#failure;
    if (failure !== null && failure.until > this.#now() && !this.#remote.fresh) throw failure.error;
    try {
      const key = await this.#remote(header, token);
      this.#failure = null;
      return key;
    } catch (err) {
      if (!isFetchFailure(err)) throw err;
      const what = err instanceof errors.JWKSTimeout ? `did not answer within ${this.#options.timeoutMs ?? 3000} ms` : 'cannot be reached or sent no key set';
      const error = new AssertionKeysUnavailableError(`the trusted proxy's key set ${what}`, this.#failureTtlMs / 1000, { cause: err });
      this.#failure = { until: this.#now() + this.#failureTtlMs, error };
      throw error;
    }
  };

  async verify(token: string): Promise<VerifiedAssertion> {
    if (token.length > MAX_ASSERTION_LENGTH) throw new InvalidAssertionError('malformed', 'the trusted assertion is too long');
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: [...this.#options.algorithms],
        ...(this.#options.issuer !== null ? { issuer: this.#options.issuer } : {}),
        ...(this.#options.audience !== null ? { audience: [...this.#options.audience] } : {}),
        currentDate: new Date(this.#now()),
        clockTolerance: this.#options.clockToleranceSeconds ?? 30,
        requiredClaims: ['exp'],
      });
      return Object.freeze({ claims: Object.freeze({ ...payload }), expiresAt: payload.exp! * 1000 });
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      const [reason, message] = rejection(err);
      throw new InvalidAssertionError(reason, `the trusted assertion ${message}`, { cause: err });
    }
  }
}

/** Errors that come from fetching the key set, as opposed to the token being wrong. */
function isFetchFailure(err: unknown): boolean {
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return true;
  // The base class is what jose throws for a non-200 answer or a body that is not JSON.
  if (err instanceof errors.JOSEError) return err.code === 'ERR_JOSE_GENERIC';
  return true; // fetch's own errors (connection refused, DNS, TLS)
}

function rejection(err: unknown): [AssertionRejection, string] {
  if (err instanceof errors.JWTExpired) return ['expired', 'has expired'];
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return ['issuer', 'has an unexpected issuer'];
    if (err.claim === 'aud') return ['audience', 'was issued for another audience'];
    if (err.claim === 'nbf' || err.claim === 'iat') return ['not-yet-valid', 'is not valid yet'];
    return ['malformed', `lacks a valid ${err.claim} claim`];
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return ['algorithm', 'uses an algorithm that is not accepted'];
  if (err instanceof errors.JWSSignatureVerificationFailed) return ['signature', 'has an invalid signature'];
  if (err instanceof errors.JWKSNoMatchingKey) return ['unknown-kid', 'is signed with an unknown key'];
  return ['malformed', 'is malformed'];
}
