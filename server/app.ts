/** The Express app: everything but the /proxy fast path. */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createAdminRouter } from './admin/index.js';
import { createApiRouter } from './api/index.js';
import type { Config } from './config.js';
import { NotFoundError } from './errors.js';
import { createPassportAuthenticator } from './identity/index.js';
import type { Logger } from './log.js';
import type { AuditLog } from './audit.js';
import { forwardedOf, type SelfAddress } from './proxy/index.js';
import { sendError } from './respond.js';
import type { Runtime } from './runtime.js';
import type { Store } from './store/index.js';
import { verifyToken, type KeyLifecycleConfig } from './tokens/index.js';

export interface AppDeps {
  audit: AuditLog;
  self: () => SelfAddress;
  config: Pick<Config, 'insecure' | 'issuer' | 'audience' | 'minPasswordLength' | 'jwksMaxAgeSeconds' | 'trustProxy' | 'clockSkewSeconds'> & KeyLifecycleConfig;
  store: Store;
  runtime: Runtime;
  log: Logger;
}

export function createApp(deps: AppDeps): Express {
  const { config, runtime, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const authenticate = createPassportAuthenticator({
    insecure: config.insecure,
    passwords: runtime.passwords,
    verifyBearer: (token) => verifyToken(token, runtime.keys, { issuer: config.issuer, audience: config.audience, clockToleranceSeconds: config.clockSkewSeconds }),
    clientAddressOf: (req) => forwardedOf(req, config.trustProxy).clientAddress,
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/.well-known/jwks.json', (req, res) => {
    const keys = runtime.keys;
    res.set({ 'cache-control': `public, max-age=${config.jwksMaxAgeSeconds}`, etag: keys.jwksEtag });
    // If-None-Match with the current ETag (weak comparison, `*`, lists: the `fresh` module): 304, no body.
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    res.type('application/json').send(keys.jwksJson);
  });

  app.use('/admin', createAdminRouter({ ...deps, authenticate: authenticate({ allowBearer: false }) }));
  app.use('/api', createApiRouter({ authenticate: authenticate({ allowBearer: true }) }));

  app.use((_req, _res, next) => next(new NotFoundError('not found')));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => sendError(res, err, 'json', log));
  return app;
}
