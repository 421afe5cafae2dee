export { ANONYMOUS, ANONYMOUS_NAME, INSECURE, ROLE_ADMIN, ROLE_ANONYMOUS, ROLE_USER, hasRole, type Identity } from './identity.js';
export { parseBasicAuthorization, PasswordVerifier, type BasicCredentials, type PasswordVerifierOptions } from './basic.js';
export { hashPassword, verifyPassword, dummyPasswordHash, HASH_CONCURRENCY, LOCAL_SLOT, type HashSlot } from './password.js';
export { HashQueue, type HashPlace, type HashQueueOptions, type LanePriority } from './hash-queue.js';
export { clientGroupOf, clientKeyOf } from './client-key.js';
export { validatePassword, validateRoles, validateUserName, MAX_NAME_LENGTH, MAX_ROLE_LENGTH } from './names.js';
export { identifyRequest, knownIdentity, type IdentifyOptions } from './identify.js';
export { createPassportAuthenticator, type PassportOptions } from './passport.js';
export { LoginThrottle, SUCCESS_FACTOR, SUSPECT_AFTER, type Admission, type CheckOutcome, type LoginThrottleOptions } from './throttle.js';
