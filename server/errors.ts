/**
 * Every error the gateway answers with is one of these classes: an HTTP status, a stable
 * `ERR_*` code (tests assert the code, never the message) and a message that is safe to show
 * to a client. `toResponse` is the one place that turns an error into a response body.
 */
export class GatewayError extends Error {
  readonly status: number = 500;
  readonly code: string = 'ERR_INTERNAL';
  /** Extra response headers (e.g. `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string | string[]>> = {};
  /** CLI exit code: 2 for bad input, 1 for other failures. */
  get exitCode(): number {
    return this.status >= 400 && this.status < 500 ? 2 : 1;
  }
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class BadRequestError extends GatewayError {
  override readonly status = 400;
  override readonly code: string = 'ERR_BAD_REQUEST';
}

export class InvalidInputError extends BadRequestError {
  override readonly code: string = 'ERR_INVALID_INPUT';
}

export class InvalidTargetUrlError extends BadRequestError {
  override readonly code = 'ERR_INVALID_TARGET_URL';
}

export class ForbiddenPathError extends BadRequestError {
  override readonly code = 'ERR_FORBIDDEN_PATH';
}

export class ConfigError extends GatewayError {
  override readonly status = 400;
  override readonly code = 'ERR_CONFIG';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('; '));
    this.problems = problems;
  }
}

export class KeyImportError extends GatewayError {
  override readonly status = 400;
  override readonly code = 'ERR_KEY_IMPORT';
}

export class UnauthorizedError extends GatewayError {
  override readonly status = 401;
  override readonly code: string = 'ERR_UNAUTHORIZED';
  override readonly headers: Readonly<Record<string, string | string[]>> = { 'www-authenticate': 'Basic realm="jwtgate"' };
}

export class InvalidTokenError extends UnauthorizedError {
  override readonly code = 'ERR_INVALID_TOKEN';
}

/**
 * A session cookie that does not (or no longer) open a session: forged, ended, expired, or of a
 * user since deleted. The answer also clears the cookie, so that the browser's next request is
 * anonymous (or goes to the login page), and challenges with no Basic prompt.
 */
export class SessionInvalidError extends UnauthorizedError {
  override readonly code = 'ERR_SESSION_INVALID';
  override readonly headers: Readonly<Record<string, string | string[]>>;
  /** `clearCookie`: one Set-Cookie line, or several (a planted cookie may have another Path or Domain). */
  constructor(message: string, clearCookie: string | string[]) {
    super(message);
    this.headers = { 'www-authenticate': 'Session realm="jwtgate"', 'set-cookie': clearCookie };
  }
}

/** --require-login: a browser with no identity is sent to the login page (a 302, made like an error so the flow stays one path). */
export class LoginRequiredRedirect extends GatewayError {
  override readonly status = 302;
  override readonly code = 'ERR_LOGIN_REQUIRED';
  override readonly headers: Readonly<Record<string, string | string[]>>;
  /** `setCookie`: the lines that clear an ended session's cookie, when that is why. */
  constructor(location: string, setCookie?: string | string[]) {
    super('Log in first.');
    this.headers = setCookie === undefined ? { location } : { location, 'set-cookie': setCookie };
  }
}

/** An unsafe request authenticated by the session cookie that comes from another site (CSRF). */
export class CrossSiteRequestError extends GatewayError {
  override readonly status = 403;
  override readonly code = 'ERR_CROSS_SITE';
}

/** The administrator a request acts for was deleted, or their password changed, while it waited. */
export class ActorRevokedError extends UnauthorizedError {
  override readonly code = 'ERR_ACTOR_REVOKED';
}

/** Why an identity assertion was refused; for logs and tests, never needed by the client. */
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
  | 'unverified-email' // the user name is the email claim, and email_verified says it is not verified
  | 'duplicate'; // the request carried the assertion header more than once

/**
 * An identity assertion of a load balancer or authenticating proxy (x-amzn-oidc-data, a trusted
 * JWT) that is not acceptable: the request is refused, never downgraded to anonymous. No Basic
 * challenge: behind an ALB the caller is a browser, which would show a password dialog that
 * cannot help (the assertion is the load balancer's, not the user's). RFC 9110 wants a challenge
 * with every 401: a Bearer one with `error="invalid_token"` (RFC 6750), which no browser prompts for.
 */
export class InvalidAssertionError extends UnauthorizedError {
  override readonly code = 'ERR_INVALID_ASSERTION';
  override readonly headers = { 'www-authenticate': 'Bearer realm="jwtgate", error="invalid_token"' };
  readonly reason: AssertionRejection;
  constructor(reason: AssertionRejection, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** The keys that check an assertion cannot be had right now: the gateway cannot tell, so it neither accepts nor blames the client. */
export class AssertionKeysUnavailableError extends GatewayError {
  override readonly status = 503;
  override readonly code = 'ERR_ASSERTION_KEYS_UNAVAILABLE';
  override readonly headers: Readonly<Record<string, string>>;
  constructor(message: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super(message, options);
    this.headers = { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) };
  }
}

export class ForbiddenError extends GatewayError {
  override readonly status = 403;
  override readonly code: string = 'ERR_FORBIDDEN';
}

export class NotFoundError extends GatewayError {
  override readonly status = 404;
  override readonly code = 'ERR_NOT_FOUND';
}

export class MethodNotAllowedError extends GatewayError {
  override readonly status = 405;
  override readonly code = 'ERR_METHOD_NOT_ALLOWED';
}

export class ConflictError extends GatewayError {
  override readonly status = 409;
  override readonly code: string = 'ERR_CONFLICT';
}

export class LastAdminError extends ConflictError {
  override readonly code = 'ERR_LAST_ADMIN';
}

export class PayloadTooLargeError extends GatewayError {
  override readonly status = 413;
  override readonly code = 'ERR_PAYLOAD_TOO_LARGE';
  /** The rest of the body is never read: close the connection rather than leave it stuck. */
  override readonly headers = { connection: 'close' };
}

export class TooManyRequestsError extends GatewayError {
  override readonly status = 429;
  override readonly code = 'ERR_TOO_MANY_LOGIN_FAILURES';
  override readonly headers: Readonly<Record<string, string>>;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

/** 503 with Retry-After: a bounded resource is full for now; the client may try again. */
export class BusyError extends GatewayError {
  override readonly status = 503;
  override readonly code: string = 'ERR_BUSY';
  override readonly headers: Readonly<Record<string, string>>;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

/** The password-check queue is full, or this check waited longer than --login-max-wait. */
export class LoginBusyError extends BusyError {
  override readonly code = 'ERR_LOGIN_BUSY';
}

/** --max-tunnels or --max-tunnels-per-client open WebSocket tunnels already. */
export class TooManyTunnelsError extends BusyError {
  override readonly code = 'ERR_TOO_MANY_TUNNELS';
}

export class LoopDetectedError extends GatewayError {
  override readonly status = 508;
  override readonly code = 'ERR_LOOP_DETECTED';
}

export class UnsupportedMediaTypeError extends GatewayError {
  override readonly status = 415;
  override readonly code = 'ERR_UNSUPPORTED_MEDIA_TYPE';
}

export class ProxyDisabledError extends GatewayError {
  override readonly status = 501;
  override readonly code = 'ERR_PROXY_DISABLED';
  constructor() {
    super('The proxy is disabled.');
  }
}

export class UpstreamUnreachableError extends GatewayError {
  override readonly status = 502;
  override readonly code = 'ERR_UPSTREAM_UNREACHABLE';
}

export class UpstreamTimeoutError extends GatewayError {
  override readonly status = 504;
  override readonly code = 'ERR_UPSTREAM_TIMEOUT';
}

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

export class StoreError extends GatewayError {
  override readonly code: string = 'ERR_STORE';
}

export class StoreNotFoundError extends StoreError {
  override readonly status = 400;
  override readonly code = 'ERR_STORE_NOT_FOUND';
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

/** Unknown errors become a bare 500: no message, stack, path or secret reaches the client. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('Internal server error.', { cause: err });
}

/**
 * The single serializer. `plain` is used on /proxy (the Atoti contract: a text body such as
 * `The proxy is disabled.`); everything else answers JSON `{"error", "code"}`.
 */
export function toResponse(err: GatewayError, format: 'json' | 'plain'): ErrorResponse {
  if (format === 'plain') {
    return {
      status: err.status,
      headers: { ...err.headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
      body: err.message,
    };
  }
  return {
    status: err.status,
    headers: { ...err.headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
    body: JSON.stringify({ error: err.message, code: err.code }),
  };
}
