/**
 * Turns an `Authorization` header into an Identity. Used directly by the /proxy fast path (no
 * Express, no passport per request); the Express routes reach the same verifiers through
 * passport strategies (passport.ts). Invalid credentials are always a 401: a caller who tried to
 * authenticate is never silently downgraded to anonymous.
 */
import { UnauthorizedError } from '../errors.js';
import type { PasswordVerifier } from './basic.js';
import { ANONYMOUS, INSECURE, type Identity } from './identity.js';

export interface IdentifyOptions {
  insecure: boolean;
  passwords: Pick<PasswordVerifier, 'verify'>;
  /** The client's address (for the failed-login throttle). */
  clientAddress?: string;
  /** Verifies a forwarded bearer token; absent where bearer tokens are not accepted. */
  verifyBearer?: (token: string) => Promise<Identity>;
}

export function authorizationScheme(header: string): string {
  const space = header.indexOf(' ');
  return (space < 0 ? header : header.slice(0, space)).toLowerCase();
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string): string {
  return header.slice(header.indexOf(' ') + 1).trim();
}

/**
 * The identity that needs no waiting: --insecure, anonymous, or a basic header whose check is
 * cached; undefined when `identifyRequest` has to do the work (the /proxy fast path's test).
 */
export function knownIdentity(authorization: string | undefined, options: Pick<IdentifyOptions, 'insecure'> & { passwords: Pick<PasswordVerifier, 'cached'> }): Identity | undefined {
  if (options.insecure) return INSECURE;
  if (authorization === undefined || authorization === '') return ANONYMOUS;
  return authorizationScheme(authorization) === 'basic' ? options.passwords.cached(authorization) : undefined;
}

export async function identifyRequest(authorization: string | undefined, options: IdentifyOptions): Promise<Identity> {
  if (options.insecure) return INSECURE;
  if (authorization === undefined || authorization === '') return ANONYMOUS;
  const scheme = authorizationScheme(authorization);
  if (scheme === 'basic') {
    const identity = await options.passwords.verify(authorization, options.clientAddress);
    if (!identity) throw new UnauthorizedError('invalid user name or password');
    return identity;
  }
  if (scheme === 'bearer' && options.verifyBearer) {
    return options.verifyBearer(bearerToken(authorization));
  }
  throw new UnauthorizedError('this authorization scheme is not accepted here; use Basic credentials');
}
