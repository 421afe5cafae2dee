/** `Authorization: Basic`: a user and password, checked by the PasswordVerifier (cached, throttled, queued). */
import { UnauthorizedError } from '../../errors.js';
import type { PasswordVerifier } from '../password-verifier.js';
import type { IdentitySource } from '../pipeline.js';
import { hasScheme } from './authorization.js';

export function basicSource(passwords: Pick<PasswordVerifier, 'cached' | 'verify' | 'isCurrent'>): IdentitySource {
  return {
    name: 'basic',
    readsAuthorization: true,
    present: (req) => hasScheme(req.headers.authorization, 'basic'),
    known: (req) => passwords.cached(req.headers.authorization!),
    async identify(req) {
      const identity = await passwords.verify(req.headers.authorization!, req.clientAddress());
      if (!identity) throw new UnauthorizedError('invalid user name or password');
      return identity;
    },
    isCurrent: (identity) => identity.via !== 'basic' || passwords.isCurrent(identity),
  };
}
