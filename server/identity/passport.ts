/**
 * passport, the Express-side adapter of the identity pipeline: each source of a pipeline is a
 * passport strategy, and the middleware runs the strategy of the source the pipeline selects for
 * the request (none: anonymous, or the insecure identity). The Basic source runs through
 * passport-http's BasicStrategy, with its credential parsing replaced (the original splits
 * `user:pass` at every colon and refuses an empty first part of the password, so a password
 * containing or starting with ":" could never log in); the verdict is always the source's, so the
 * rules exist once for /proxy and the Express routes alike.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import passport from 'passport';
import { BasicStrategy } from 'passport-http';
import { UnauthorizedError } from '../errors.js';
import type { Identity } from './identity.js';
import type { IdentityPipeline, IdentitySource } from './pipeline.js';
import { identityRequestOf, type IdentityRequest, type RequestTrust } from './request.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      identity?: Identity;
    }
  }
}

const REQUEST = Symbol('jwtgate.identityRequest');
type WithIdentityRequest = IncomingMessage & { [REQUEST]?: IdentityRequest };

type Done = (err: unknown, user?: Identity) => void;

/** Runs `source.identify` for the request and reports to passport. */
function identifyFor(source: IdentitySource, req: Request, done: Done): void {
  const identityRequest = (req as WithIdentityRequest)[REQUEST]!;
  source.identify(identityRequest).then((identity) => done(null, identity), done);
}

class BasicSourceStrategy extends BasicStrategy {
  constructor(readonly source: IdentitySource) {
    super({ realm: 'jwtgate' }, () => undefined);
  }
  override authenticate(this: passport.StrategyCreated<BasicSourceStrategy>, req: Request): void {
    identifyFor(this.source, req, (err, user) => (err ? this.error(err) : this.success(user!)));
  }
}

class SourceStrategy extends passport.Strategy {
  constructor(readonly source: IdentitySource) {
    super();
    this.name = source.name;
  }
  override authenticate(this: passport.StrategyCreated<this>, req: Request): void {
    identifyFor(this.source, req, (err, user) => (err ? this.error(err) : this.success(user!)));
  }
}

/** Returns a middleware factory: `authenticate(pipeline)` sets `req.identity` or fails (401, 429, 503). */
export function createPassportAuthenticator(trust: RequestTrust): (pipeline: IdentityPipeline) => RequestHandler {
  const instance = new passport.Passport();
  const registered = new Set<IdentitySource>();
  const register = (source: IdentitySource) => {
    if (registered.has(source)) return;
    registered.add(source);
    instance.use(source.name, source.name === 'basic' ? new BasicSourceStrategy(source) : new SourceStrategy(source));
  };

  return (pipeline) => {
    for (const source of pipeline.sources) register(source);
    return (req: Request, res: Response, next: NextFunction) => {
      const identityRequest = identityRequestOf(req, trust);
      let source: IdentitySource | null;
      try {
        source = pipeline.select(identityRequest);
        if (source === null) {
          req.identity = pipeline.known(identityRequest)!;
          return next();
        }
        const known = pipeline.known(identityRequest);
        if (known) {
          req.identity = known;
          return next();
        }
      } catch (err) {
        return next(err);
      }
      (req as WithIdentityRequest)[REQUEST] = identityRequest;
      const run = (chosen: IdentitySource, yielded: boolean) =>
        instance.authenticate(chosen.name, { session: false }, (err: unknown, user: Identity | false) => {
          const refused = err ?? (user ? null : new UnauthorizedError('authentication failed'));
          if (refused !== null) {
            // A refused credential that gives way (an ended session next to an assertion): the next source decides.
            const successor = !yielded && refused instanceof UnauthorizedError ? pipeline.successor(chosen, identityRequest) : null;
            return successor === null ? next(refused) : run(successor, true);
          }
          req.identity = user as Identity;
          next();
        })(req, res, next);
      run(source, false);
    };
  };
}
