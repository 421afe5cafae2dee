export * from './key-lifecycle/index.js';
export { KeySet, type JwkSet, type SigningKey } from './keyset.js';
export { mintToken, TokenMinter, type MintOptions } from './mint.js';
export { verifyToken, type VerifyOptions } from './verify.js';
export { NoSigningKeyError, KeyEncryptionError, RotationTooSoonError } from '../errors.js';
export { KeyEncryption, isSealed, keyEncryptionOf, openPrivateKey, sealPrivateKey } from './key-encryption.js';
