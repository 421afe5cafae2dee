/**
 * Verifying a token minted by this gateway, presented back to /api/* by an upstream (the Atoti
 * "session" mode): RS512 only, a kid that is currently published, signature, exp/nbf/iat within
 * the clock skew, iss, and aud when configured. Every failure is an InvalidTokenError (401).
 */
import { jwtVerify, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import { InvalidTokenError } from '../errors.js';
import type { Identity } from '../identity/index.js';
import type { KeySet } from './keyset.js';

export interface VerifyOptions {
  issuer: string;
  audience: string | null;
  now?: () => number;
  /** Allowed clock skew for exp, nbf and iat, seconds (--clock-skew). */
  clockToleranceSeconds: number;
  /** Oldest acceptable iat, seconds; also refuses an iat in the future. */
  maxTokenAgeSeconds?: number;
}

export async function verifyToken(token: string, keys: KeySet, options: VerifyOptions): Promise<Identity> {
  const getKey: JWTVerifyGetKey = (header) => {
    const key = header.kid === undefined ? undefined : keys.published.get(header.kid);
    if (!key) throw new InvalidTokenError('the token was not signed by a published key');
    return key;
  };
  try {
    const { payload } = await jwtVerify(token, getKey, {
      algorithms: ['RS512'],
      issuer: options.issuer,
      ...(options.audience !== null ? { audience: options.audience } : {}),
      currentDate: new Date((options.now ?? Date.now)()),
      clockTolerance: options.clockToleranceSeconds,
      maxTokenAge: options.maxTokenAgeSeconds ?? 86_400,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    const roles = payload['authorities'];
    if (typeof payload.sub !== 'string' || payload.sub === '' || !Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
      throw new InvalidTokenError('the token lacks sub or authorities');
    }
    // requiredClaims and maxTokenAge make iat a number here.
    return Object.freeze({ name: payload.sub, roles: Object.freeze([...new Set(roles as string[])].sort()), via: 'bearer' as const, issuedAt: payload.iat! });
  } catch (err) {
    if (err instanceof InvalidTokenError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new InvalidTokenError('the token has expired');
    if (err instanceof joseErrors.JOSEError) throw new InvalidTokenError(`the token is invalid (${err.code})`);
    throw new InvalidTokenError('the token is invalid');
  }
}
