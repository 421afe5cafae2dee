import { GatewayError } from '../errors.js';

export class NoSigningKeyError extends GatewayError {
  override readonly status = 503;
  override readonly code = 'ERR_NO_SIGNING_KEY';
}

/** A wrong or missing JWTGATE_KEY_ENCRYPTION_KEY: bad input (exit code 2), never a 500 to clients. */
export class KeyEncryptionError extends GatewayError {
  override readonly status = 400;
  override readonly code = 'ERR_KEY_ENCRYPTION';
}
