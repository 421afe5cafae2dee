/**
 * `Authorization: Bearer`: a token this gateway minted, sent back to /api by an upstream (the
 * Atoti "session" call-back). The token proves who it was minted for; the store says who that
 * is now: a deleted user's token is refused, and the identity carries the user's current roles,
 * not the token's. `anonymousUser` tokens are as they were minted (nobody can change them).
 */
import { InvalidTokenError } from '../../errors.js';
import { ANONYMOUS_NAME, type Identity } from '../identity.js';
import type { IdentitySource } from '../pipeline.js';
import type { UserDirectory } from '../user-directory.js';
import { bearerToken, hasScheme } from './authorization.js';

export interface BearerSourceOptions {
  /** Verifies the token's signature and claims; throws InvalidTokenError. */
  verify: (token: string) => Promise<Identity>;
  users: Pick<UserDirectory, 'get'>;
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
      return Object.freeze({ ...minted, roles: user.roles });
    },
  };
}
