export { generateSigningKey, importPrivateKeyPem, publicJwkOf, KEY_BITS, MIN_KEY_BITS, type NewKey } from './keys.js';
export { KeySet, type JwkSet, type SigningKey } from './keyset.js';
export { mintToken, TokenMinter, type MintOptions } from './mint.js';
export { verifyToken, type VerifyOptions } from './verify.js';
export { NoSigningKeyError, KeyEncryptionError } from './errors.js';
export { KeyEncryption, isSealed, openPrivateKey, sealPrivateKey } from './key-encryption.js';
