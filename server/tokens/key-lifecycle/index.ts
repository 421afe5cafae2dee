export { DEFAULT_KEY_BITS, generateSigningKey, importPrivateKeyPem, KEY_BITS, MIN_KEY_BITS, parseKeyBits, publicJwkOf, type NewKey } from './key-pairs.js';
export { graceMs, isPublished, keyPolicyOf, nextKeyChange, nextKeySafeFrom, scheduledRotationAt, signingKeysOf, signingKidsOf, type KeyPolicy } from './rules.js';
export { applyDueKeyChanges, ensureSigningKeys, importSigningKey, keyLifecycleOf, keyPairsMissing, retireExpiredKeys, revokeSigningKeys, rotateIfDue, rotateSigningKey, type KeyChange, type KeyLifecycle, type KeyLifecycleConfig, type ScheduledRotation } from './transitions.js';
export { API_FIELD_NAMES, CLI_OPTION_NAMES, emergencyWarning, refuseRemovedTimingOptions, rotate, rotationMode, rotationRequestOf, type RawRotationRequest, type RotationRequest } from './rotation-request.js';
export { keyChangeAudit, keyChangeInfo, publicKeyInfo, type PublicKeyInfo } from './public-info.js';
