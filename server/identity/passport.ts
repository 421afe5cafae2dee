/**
 * passport glue for the Express routers (/admin, /api): passport-http's BasicStrategy and a
 * strategy for bearer tokens forwarded back by upstreams. Both delegate to the same verifiers
 * as the /proxy fast path, so the rules are written once.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import passport from 'passport';
import { BasicStrategy } from 'passport-http';
import { InvalidTokenError, UnauthorizedError } from '../errors.js';
import { parseBasicAuthorization, type PasswordVerifier } from './basic.js';
import { authorizationScheme, bearerToken } from './identify.js';
import { ANONYMOUS, INSECURE, type Identity } from './identity.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      identity?: Identity;
    }
  }
}

type VerifyBasic = (req: Request, authorization: string, done: (err: unknown, user?: Identity | false) => void) => void;

/**
 * passport-http's BasicStrategy, with the credential parsing replaced: the original splits
 * `user:pass` on every colon and refuses an empty first part of the password, so a password
 * containing or starting with ":" could never log in. Ours splits at the first colon only.
 */
class StrictBasicStrategy extends BasicStrategy {
  constructor(readonly verifyBasic: VerifyBasic) {
    super({ realm: 'jwtgate' }, () => undefined);
  }
  override authenticate(this: passport.StrategyCreated<StrictBasicStrategy>, req: Request): void {
    const authorization = req.headers.authorization ?? '';
    if (!parseBasicAuthorization(authorization)) return this.fail('Basic realm="jwtgate"');
    this.verifyBasic(req, authorization, (err, user) => (err ? this.error(err) : user ? this.success(user) : this.fail('Basic realm="jwtgate"')));
  }
}

class ForwardedBearerStrategy extends passport.Strategy {
  override name = 'forwarded-bearer';
  constructor(readonly verifyToken: (token: string) => Promise<Identity>) {
    super();
  }
  override authenticate(this: passport.StrategyCreated<this>, req: Request): void {
    this.verifyToken(bearerToken(req.headers.authorization ?? '')).then(
      (identity: Identity) => this.success(identity),
      (err: unknown) => (err instanceof InvalidTokenError ? this.fail({ message: err.message }, 401) : this.error(err)),
    );
  }
}

export interface PassportOptions {
  insecure: boolean;
  passwords: Pick<PasswordVerifier, 'verify'>;
  verifyBearer: (token: string) => Promise<Identity>;
  /** The client's address as far as it can be trusted (--trust-proxy aware). */
  clientAddressOf: (req: Request) => string;
}

/** Returns a middleware factory: `authenticate({ allowBearer })` sets `req.identity` or fails with 401. */
export function createPassportAuthenticator(options: PassportOptions): (opts: { allowBearer: boolean }) => RequestHandler {
  const instance = new passport.Passport();
  instance.use(
    'basic',
    new StrictBasicStrategy((req, authorization, done) => {
      options.passwords.verify(authorization, options.clientAddressOf(req)).then((identity) => done(null, identity ?? false), done);
    }),
  );
  instance.use('forwarded-bearer', new ForwardedBearerStrategy(options.verifyBearer));

  return ({ allowBearer }) =>
    (req: Request, res: Response, next: NextFunction) => {
      if (options.insecure) {
        req.identity = INSECURE;
        return next();
      }
      const header = req.headers.authorization;
      if (header === undefined || header === '') {
        req.identity = ANONYMOUS;
        return next();
      }
      const scheme = authorizationScheme(header);
      const strategy = scheme === 'basic' ? 'basic' : scheme === 'bearer' && allowBearer ? 'forwarded-bearer' : null;
      if (!strategy) return next(new UnauthorizedError('this authorization scheme is not accepted here; use Basic credentials'));
      instance.authenticate(strategy, { session: false }, (err: unknown, user: Identity | false, info: { message?: string } | string | undefined) => {
        if (err) return next(err);
        if (!user) {
          if (strategy === 'forwarded-bearer') return next(new InvalidTokenError(typeof info === 'object' && info?.message ? info.message : 'invalid token'));
          return next(new UnauthorizedError('invalid user name or password'));
        }
        req.identity = user;
        next();
      })(req, res, next);
    };
}
