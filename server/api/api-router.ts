/** /api/*: what callers (Basic, a session cookie) and upstreams (a token sent back) ask the gateway. */
import { Router, type Request, type RequestHandler } from 'express';
import { CrossSiteRequestError } from '../errors.js';
import { ROLE_USER } from '../identity/index.js';
import { isCrossSiteBrowserRequest, requireRole } from '../policy/index.js';

export interface ApiDeps {
  /** Accepts basic credentials, forwarded bearer tokens and the session cookie. */
  authenticate: RequestHandler;
  /** This gateway's origin as the browser sees it, and the other sites allowed to post with the cookie. */
  originOf: (req: Request) => string;
  allowedOrigins: ReadonlySet<string>;
}

export function createApiRouter(deps: ApiDeps): Router {
  const router = Router();
  router.use(deps.authenticate, requireRole(ROLE_USER), (req, _res, next) => {
    if (isCrossSiteBrowserRequest(req, req.identity!, deps.originOf(req), deps.allowedOrigins)) return next(new CrossSiteRequestError('a request from another site with the browser\'s credentials is refused'));
    next();
  });
  router.get('/whoami', (req, res) => {
    res.json({ name: req.identity!.name, roles: req.identity!.roles });
  });
  /** Who you are, and when your session ends (null without a session cookie). */
  router.get('/session', (req, res) => {
    const { name, roles, via, session } = req.identity!;
    res.json({
      name,
      roles,
      via,
      session: session
        ? {
            handle: session.handle,
            createdAt: new Date(session.createdAt).toISOString(),
            expiresAt: new Date(session.expiresAt).toISOString(),
            idleExpiresAt: new Date(session.idleExpiresAt).toISOString(),
            absoluteExpiresAt: new Date(session.absoluteExpiresAt).toISOString(),
          }
        : null,
    });
  });
  return router;
}
