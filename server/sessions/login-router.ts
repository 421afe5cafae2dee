/**
 * `GET /login`, `POST /login`, `POST /logout`: the login page and the life of a session cookie.
 *
 * The form shares everything with Basic logins: the PasswordVerifier (cache, throttle, password
 * queue, dummy-hash timing for unknown names). A failed login shows the form again with one
 * generic message. A successful one always makes a new session (an id the client brought is
 * never reused: no fixation) and redirects to `next`, a same-origin path (no open redirect).
 * Both POSTs are refused from another site (login and logout CSRF).
 */
import express, { Router, type Request, type Response } from 'express';
import type { AuditLog } from '../audit.js';
import { GatewayError, LoginBusyError, TooManyRequestsError, UnsupportedMediaTypeError, CrossSiteRequestError } from '../errors.js';
import type { IdentityRequest, PasswordVerifier, RequestTrust } from '../identity/index.js';
import { identityRequestOf } from '../identity/index.js';
import type { Logger } from '../log.js';
import { isCrossSite } from '../policy/index.js';
import { clearCookieHeader, setCookieHeader } from './cookie.js';
import { LOGIN_STYLESHEET, LOGIN_STYLESHEET_PATH, loginPage, logoutPage, PAGE_CSP } from './login-page.js';
import { safeNextPath } from './next-path.js';
import type { SessionManager } from './session-manager.js';
import type { SessionSource } from './session-source.js';

export interface LoginRouterDeps {
  sessions: SessionManager;
  source: Pick<SessionSource, 'cookieValueOf'>;
  passwords: Pick<PasswordVerifier, 'verifyCredentials'>;
  trust: RequestTrust;
  cookie: { name: string; secure: boolean };
  /** This gateway's origin as the browser sees it (the public URL, else from the request). */
  originOf: (req: Request) => string;
  allowedOrigins: ReadonlySet<string>;
  audit: AuditLog;
  /** Makes this process see a session it ended (its caches), before answering. */
  refresh: () => Promise<void>;
  log: Pick<Logger, 'info'>;
}

const GENERIC_FAILURE = 'Invalid user name or password.';

/** The headers of every HTML page the gateway makes. */
function pageHeaders(res: Response): void {
  res.set({
    'content-security-policy': PAGE_CSP,
    'x-frame-options': 'DENY',
    // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` with the form's POST,
    // which the cross-site check must refuse.
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
  });
}

function field(body: unknown, name: string, max: number): string {
  const value = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value.slice(0, max) : '';
}

export function createLoginRouter(deps: LoginRouterDeps): Router {
  const { sessions, passwords, cookie, audit } = deps;
  const router = Router();
  const maxAgeSeconds = Math.floor(sessions.settings.maxAgeMs / 1000);

  const refuseCrossSite = (req: Request) => {
    if (isCrossSite(req.headers, deps.originOf(req), deps.allowedOrigins)) throw new CrossSiteRequestError('a login or logout from another site is refused');
  };

  const show = (res: Response, status: number, next: string, options: { error?: string; username?: string; headers?: Readonly<Record<string, string>> } = {}) => {
    pageHeaders(res);
    if (options.headers) for (const [name, value] of Object.entries(options.headers)) if (name !== 'www-authenticate') res.set(name, value);
    res.status(status).type('html').send(loginPage({ next, ...options }));
  };

  router.get(LOGIN_STYLESHEET_PATH, (_req, res) => {
    res.set('cache-control', 'public, max-age=3600').type('css').send(LOGIN_STYLESHEET);
  });

  router.get('/login', (req, res) => {
    show(res, 200, safeNextPath(req.query['next']));
  });

  router.post('/login', (req, _res, next) => {
    if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(req.headers['content-type'] ?? '')) return next(new UnsupportedMediaTypeError('the login form is application/x-www-form-urlencoded'));
    next();
  }, express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 }), async (req, res) => {
    refuseCrossSite(req);
    const next = safeNextPath(field(req.body, 'next', 2048));
    const username = field(req.body, 'username', 256);
    const password = field(req.body, 'password', 1024);
    const identityRequest: IdentityRequest = identityRequestOf(req, deps.trust);
    let identity;
    try {
      identity = await passwords.verifyCredentials({ name: username, password }, identityRequest.clientAddress());
    } catch (err) {
      if (err instanceof TooManyRequestsError) return show(res, 429, next, { error: 'Too many attempts. Try again in a minute.', username, headers: err.headers });
      if (err instanceof LoginBusyError) return show(res, 503, next, { error: 'The gateway is busy. Try again in a moment.', username, headers: err.headers });
      throw err;
    }
    if (!identity) return show(res, 401, next, { error: GENERIC_FAILURE, username });
    const { cookieValue, session, evicted } = await sessions.create(identity.name, { address: identityRequest.clientAddress(), userAgent: String(req.headers['user-agent'] ?? '') });
    audit.record({ actor: identity.name, action: 'session.login', target: session.record.handle, details: { clientAddress: session.record.clientAddress, ...(evicted.length > 0 ? { evicted: evicted.length } : {}) } });
    deps.log.info({ user: identity.name, session: session.record.handle }, 'logged in');
    res.set({ 'set-cookie': setCookieHeader(cookie.name, cookieValue, { secure: cookie.secure, maxAgeSeconds }), 'cache-control': 'no-store' });
    res.redirect(303, next);
  });

  router.get('/logout', (_req, res) => {
    pageHeaders(res);
    res.type('html').send(logoutPage());
  });

  router.post('/logout', async (req, res) => {
    refuseCrossSite(req);
    let value: string | undefined;
    try {
      value = deps.source.cookieValueOf(req);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      value = undefined; // several cookies: clear ours anyway
    }
    const idHash = value === undefined ? null : sessions.idHashOf(value);
    if (idHash !== null) {
      const ended = await sessions.end({ idHash });
      for (const session of ended) audit.record({ actor: session.user, action: 'session.logout', target: session.handle });
      await deps.refresh();
    }
    res.set({ 'set-cookie': clearCookieHeader(cookie.name, cookie.secure), 'cache-control': 'no-store' });
    res.redirect(303, '/login');
  });

  return router;
}
