export { ANONYMOUS, ANONYMOUS_NAME, INSECURE, ROLE_ADMIN, ROLE_ANONYMOUS, ROLE_USER, hasRole, type Identity } from './identity.js';
export { parseBasicAuthorization, PasswordVerifier, type BasicCredentials, type PasswordVerifierOptions } from './basic.js';
export { hashPassword, verifyPassword, dummyPasswordHash } from './password.js';
export { validatePassword, validateRoles, validateUserName, MAX_NAME_LENGTH, MAX_ROLE_LENGTH } from './names.js';
export { identifyRequest, knownIdentity, type IdentifyOptions } from './identify.js';
export { createPassportAuthenticator, type PassportOptions } from './passport.js';
export { LoginThrottle, type Admission, type LoginThrottleOptions } from './throttle.js';
export { isLoopbackAddress } from './loopback.js';
