import { GatewayError } from '../errors.js';

export class NoSigningKeyError extends GatewayError {
  override readonly status = 503;
  override readonly code = 'ERR_NO_SIGNING_KEY';
}
