/**
 * The two ways an identity assertion from a load balancer or an authenticating proxy can fail:
 * the assertion itself is not acceptable (401, the client's request is refused, never downgraded
 * to anonymous), or the keys needed to check it cannot be had right now (503: the gateway cannot
 * tell, so it neither accepts nor blames the client).
 */
import { GatewayError, UnauthorizedError } from '../../errors.js';

/** Why an assertion was refused; for logs and tests, never needed by the client. */
export type AssertionRejection =
  | 'malformed' // not three segments of the expected encoding, or not JSON objects
  | 'algorithm' // alg is not one of the accepted ones (never the token's own choice)
  | 'kid' // the kid is missing or does not look like what the issuer hands out
  | 'unknown-kid' // the key server has no key under this kid
  | 'signer' // the ALB's ARN in the header is not the configured one
  | 'issuer'
  | 'client'
  | 'audience'
  | 'expired'
  | 'not-yet-valid'
  | 'signature'
  | 'claims' // the claims do not map to a valid user name or roles
  | 'duplicate'; // the request carried the assertion header more than once

export class InvalidAssertionError extends UnauthorizedError {
  override readonly code = 'ERR_INVALID_ASSERTION';
  readonly reason: AssertionRejection;
  constructor(reason: AssertionRejection, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

export class AssertionKeysUnavailableError extends GatewayError {
  override readonly status = 503;
  override readonly code = 'ERR_ASSERTION_KEYS_UNAVAILABLE';
  override readonly headers: Readonly<Record<string, string>>;
  constructor(message: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super(message, options);
    this.headers = { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) };
  }
}
