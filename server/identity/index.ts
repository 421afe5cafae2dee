export { ANONYMOUS, ANONYMOUS_NAME, INSECURE, ROLE_ADMIN, ROLE_ANONYMOUS, ROLE_USER, hasRole, type Identity, type IdentityVia, type SessionInfo } from './identity.js';
export { parseBasicAuthorization, PasswordVerifier, type BasicCredentials, type PasswordVerifierOptions } from './password-verifier.js';
export { hashPassword, verifyPassword, dummyPasswordHash, HASH_CONCURRENCY, LOCAL_SLOT, type HashSlot } from './password.js';
export { HashQueue, type HashPlace, type HashQueueOptions, type LanePriority } from './hash-queue.js';
export { clientGroupOf, clientKeyOf } from './client-key.js';
export { validatePassword, validateRoles, validateUserName, MAX_NAME_LENGTH, MAX_ROLE_LENGTH } from './names.js';
export { IdentityPipeline, type IdentityPipelineOptions, type IdentitySource } from './pipeline.js';
export { identityRequestOf, type IdentityRequest, type RequestTrust } from './request.js';
export { UserDirectory, type DirectoryEntry, type UserDirectoryOptions } from './user-directory.js';
export { basicSource } from './sources/basic.js';
export { bearerSource, type BearerSourceOptions } from './sources/bearer.js';
export { albSource } from './sources/alb.js';
export { trustedJwtSource } from './sources/trusted-jwt.js';
export { assertionSource, type AssertedUsers, type AssertionSourceOptions, type AssertionSourceSettings } from './sources/assertion.js';
export { AutoCreatedUsers, type AutoCreatedUsersOptions } from './auto-create.js';
export {
  ALB_ASSERTION_HEADER,
  ASSERTION_OPTIONS,
  assertionToken,
  booleanOption,
  claimValue,
  emailMayBeUsed,
  headerNameProblem,
  NO_EXEMPT_PATHS,
  parseAssertionOptions,
  repeatedEntries,
  type AlbSettings,
  type AssertionOptions,
  type AssertionOptionSpec,
  type AssertionSourceKind,
  type ExemptPaths,
  type RawAssertionOptions,
  type RepeatableValue,
  type TrustedJwtSettings,
} from './assertions/index.js';
export { authorizationScheme, bearerToken, hasScheme } from './sources/authorization.js';
export { createPassportAuthenticator } from './passport.js';
export { LoginThrottle, SUCCESS_FACTOR, SUSPECT_AFTER, type Admission, type CheckOutcome, type LoginThrottleOptions } from './throttle.js';
