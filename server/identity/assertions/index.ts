/**
 * Identity assertions made by a load balancer or an authenticating proxy that already logged the
 * user in: the AWS ALB's `x-amzn-oidc-data`, and standard JWTs from oauth2-proxy, Pomerium,
 * Cloudflare Access and the like. See docs/load-balancer.md.
 */
export { ALB_ASSERTION_HEADER, assertionToken, createAlbVerifier, createTrustedJwtVerifier, type AssertionVerifier, type VerifierTuning } from './sources.js';
export { mapClaims, claimValue, emailMayBeUsed, DEFAULT_CLAIM_MAPPING, type AssertedIdentity, type AssertionSourceKind, type ClaimMapping } from './claims.js';
export {
  ASSERTION_OPTIONS,
  parseAssertionOptions,
  type AlbSettings,
  type AssertionContext,
  type AssertionOptions,
  type AssertionOptionSpec,
  type ParsedAssertionOptions,
  type RawAssertionOptions,
  type TrustedJwtSettings,
} from './options.js';
export { NO_EXEMPT_PATHS, type ExemptPaths } from './exempt-paths.js';
export { bool as booleanOption, repeatedEntries, type RepeatableValue } from './option-values.js';
export { headerNameProblem } from './header-names.js';
export { TRUSTED_JWT_ALGORITHMS, type TrustedJwtAlgorithm } from './trusted-jwt.js';
export { MAX_ASSERTION_LENGTH } from './alb-token.js';
