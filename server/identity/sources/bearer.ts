/**
 * `Authorization: Bearer`: a token this gateway minted, sent back to /api by an upstream (the
 * Atoti "session" call-back). The token proves who it was minted for; the store says who that
 * is now: a deleted user's token is refused, and the identity carries the user's current roles,
 * not the token's. `anonymousUser` tokens are as they were minted (nobody can change them).
 *
 * A name can be deleted and created again within a token's lifetime: the new user is someone
 * else, so a token minted before the user's creation is refused too. Minting and creating may
 * happen on hosts whose clocks differ by up to --clock-skew, and `iat` is whole seconds: only a
 * token older than the creation by more than both is refused, so no token minted after it ever
 * is (the price: a name re-created within that much of its deletion still takes old tokens).
 */
import { InvalidTokenError } from '../../errors.js';
import { ANONYMOUS_NAME, type Identity } from '../identity.js';
import type { IdentitySource } from '../pipeline.js';
import type { UserDirectory } from '../user-directory.js';
import { bearerToken, hasScheme } from './authorization.js';

export interface BearerSourceOptions {
  /** Verifies the token's signature and claims (its identity has `issuedAt`); throws InvalidTokenError. */
  verify: (token: string) => Promise<Identity>;
  users: Pick<UserDirectory, 'get'>;
  /** --clock-skew, seconds. */
  clockSkewSeconds: number;
}

/** True when a token issued at `iatSeconds` was minted before a user created at `createdAtMs` (0: unknown, never). */
function mintedBeforeUser(iatSeconds: number, createdAtMs: number, clockSkewSeconds: number): boolean {
  return iatSeconds * 1000 < createdAtMs - clockSkewSeconds * 1000 - 1000;
}

export function bearerSource(options: BearerSourceOptions): IdentitySource {
  return {
    name: 'bearer',
    readsAuthorization: true,
    present: (req) => hasScheme(req.headers.authorization, 'bearer'),
    known: () => undefined,
    async identify(req) {
      const minted = await options.verify(bearerToken(req.headers.authorization!));
      if (minted.name === ANONYMOUS_NAME) return minted;
      const user = await options.users.get(minted.name);
      if (user === null) throw new InvalidTokenError(`the token's user ${JSON.stringify(minted.name)} no longer exists`);
      if (minted.issuedAt === undefined || mintedBeforeUser(minted.issuedAt, user.createdAt, options.clockSkewSeconds)) {
        throw new InvalidTokenError(`the token was minted before the user ${JSON.stringify(minted.name)} was created (for an earlier user of that name)`);
      }
      return Object.freeze({ ...minted, roles: user.roles });
    },
  };
}
