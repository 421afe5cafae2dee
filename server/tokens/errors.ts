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

/** A routine rotation that would make a consumer refuse tokens: the next key is too recent. */
export class RotationTooSoonError extends GatewayError {
  override readonly status = 409;
  override readonly code = 'ERR_ROTATION_TOO_SOON';
}
