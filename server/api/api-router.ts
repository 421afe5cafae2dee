/** /api/*: the session API that callers and upstreams (with a forwarded token) use. */
import { Router, type RequestHandler } from 'express';
import { ROLE_USER } from '../identity/index.js';
import { requireRole } from '../policy/index.js';

export interface ApiDeps {
  /** Accepts basic credentials and forwarded bearer tokens. */
  authenticate: RequestHandler;
}

export function createApiRouter(deps: ApiDeps): Router {
  const router = Router();
  router.use(deps.authenticate, requireRole(ROLE_USER));
  router.get('/whoami', (req, res) => {
    res.json({ name: req.identity!.name, roles: req.identity!.roles });
  });
  return router;
}
