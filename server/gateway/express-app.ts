/** The Express app: everything but the /proxy fast path. */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createAdminRouter } from '../admin/index.js';
import { createApiRouter } from '../api/index.js';
import type { Config } from '../config.js';
import { NotFoundError } from '../errors.js';
import { createPassportAuthenticator } from '../identity/index.js';
import type { Logger } from '../log.js';
import type { AuditLog } from '../audit.js';
import type { SelfAddress } from '../proxy/index.js';
import type { IdentityPipelines } from './identity-pipelines.js';
import { sendError } from '../send-error.js';
import { cookieName, createLoginRouter } from '../sessions/index.js';
import type { StoreView } from './store-view.js';
import type { Store } from '../store/index.js';
import type { KeyLifecycleConfig } from '../tokens/index.js';

export interface AppDeps {
  audit: AuditLog;
  self: () => SelfAddress;
  config: Pick<Config, 'minPasswordLength' | 'jwksMaxAgeSeconds' | 'cookieSecure' | 'allowedOrigins'> & KeyLifecycleConfig;
  /** This gateway's origin as a browser sees it (the cross-site checks compare with it). */
  originOf: (req: Request) => string;
  store: Store;
  view: StoreView;
  identities: IdentityPipelines;
  log: Logger;
}

/**
 * RFC 9110 §13.1.2: If-None-Match matches `*`, or one of its entity tags by weak comparison; an
 * origin server then MUST answer 304 to a GET or HEAD. (Express's `req.fresh` also answers 200
 * whenever the request says `Cache-Control: no-cache`, which fetch() adds to every conditional
 * request: right for a cache, not for the origin.)
 */
function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === opaque);
}

export function createApp(deps: AppDeps): Express {
  const { config, view, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Every answer the gateway itself makes: no MIME sniffing; no caching of identity or admin data.
  app.use((req, res, next) => {
    res.set('x-content-type-options', 'nosniff');
    if (/^\/(admin|api|login|logout)(\/|$|\?)/.test(req.url)) res.set('cache-control', 'no-store');
    next();
  });

  const { identities } = deps;
  const authenticate = createPassportAuthenticator(identities.trust);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/.well-known/jwks.json', (req, res) => {
    const keys = view.keys;
    res.set({ 'cache-control': `public, max-age=${config.jwksMaxAgeSeconds}`, etag: keys.jwksEtag });
    if (ifNoneMatchMatches(req.headers['if-none-match'], keys.jwksEtag)) {
      res.status(304).end();
      return;
    }
    res.type('application/json').send(keys.jwksJson);
  });

  app.use(createLoginRouter({
    sessions: view.sessions,
    source: identities.session,
    passwords: view.passwords,
    trust: identities.trust,
    cookie: { name: cookieName(config.cookieSecure), secure: config.cookieSecure },
    originOf: deps.originOf,
    allowedOrigins: config.allowedOrigins,
    audit: deps.audit,
    refresh: () => view.refresh(),
    log,
  }));
  app.use('/admin', createAdminRouter({ ...deps, authenticate: authenticate(identities.admin) }));
  app.use('/api', createApiRouter({ authenticate: authenticate(identities.api), originOf: deps.originOf, allowedOrigins: config.allowedOrigins }));

  app.use((_req, _res, next) => next(new NotFoundError('not found')));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => sendError(res, err, 'json', log));
  return app;
}
