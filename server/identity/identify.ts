/**
 * Turns an `Authorization` header into an Identity. Used directly by the /proxy fast path (no
 * Express, no passport per request); the Express routes reach the same verifiers through
 * passport strategies (passport.ts). Invalid credentials are always a 401: a caller who tried to
 * authenticate is never silently downgraded to anonymous.
 */
import { UnauthorizedError } from '../errors.js';
import { parseBasicAuthorization, type PasswordVerifier } from './basic.js';
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

export async function identifyRequest(authorization: string | undefined, options: IdentifyOptions): Promise<Identity> {
  if (options.insecure) return INSECURE;
  if (authorization === undefined || authorization === '') return ANONYMOUS;
  const scheme = authorizationScheme(authorization);
  if (scheme === 'basic') {
    const credentials = parseBasicAuthorization(authorization);
    if (!credentials) throw new UnauthorizedError('malformed basic credentials');
    const identity = await options.passwords.verify(credentials, options.clientAddress);
    if (!identity) throw new UnauthorizedError('invalid user name or password');
    return identity;
  }
  if (scheme === 'bearer' && options.verifyBearer) {
    const token = authorization.slice(authorization.indexOf(' ') + 1).trim();
    return options.verifyBearer(token);
  }
  throw new UnauthorizedError('this authorization scheme is not accepted here; use Basic credentials');
}
