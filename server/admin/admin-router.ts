/** /admin/*: the proxy target and the users (ROLE_ADMIN, JSON in and out). */
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Config } from '../config.js';
import type { AuditLog } from '../audit.js';
import { NotFoundError, InvalidInputError, InvalidTargetUrlError, UnsupportedMediaTypeError } from '../errors.js';
import { ROLE_ADMIN } from '../identity/index.js';
import type { Logger } from '../log.js';
import { requireRole } from '../policy/index.js';
import { sessionListLimit } from '../sessions/index.js';
import { isSelfTarget, parseTargetUrl, type SelfAddress } from '../proxy/index.js';
import type { StoreView } from '../gateway/store-view.js';
import type { SessionRecord, SessionSelector, Store } from '../store/index.js';
import { API_FIELD_NAMES, emergencyWarning, keyChangeAudit, keyChangeInfo, keyLifecycleOf, publicKeyInfo, rotate, rotationMode, rotationRequestOf, type KeyLifecycleConfig } from '../tokens/index.js';
import { actorOf, publicUser, removeUser, saveUser } from '../users/index.js';

export interface AdminDeps {
  store: Store;
  view: Pick<StoreView, 'refresh' | 'hashSlot' | 'sessions'>;
  config: Pick<Config, 'minPasswordLength'> & KeyLifecycleConfig;
  authenticate: RequestHandler;
  log: Pick<Logger, 'info' | 'warn'>;
  audit: AuditLog;
  /** Where the gateway listens, to refuse a target pointing back at it. */
  self: () => SelfAddress;
}

/**
 * A browser form cannot send application/json cross-site without a preflight: the admin API accepts nothing else.
 * That holds for a POST without a body too: a cross-site form, or a no-cors fetch, can send an
 * empty POST (with a form type, or no Content-Type at all) along with cached basic credentials.
 * So `POST /admin/keys/rotate` takes an empty body, but still needs `Content-Type: application/json`,
 * which a page on another origin cannot set without a preflight that this server never grants.
 */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  // Every state-changing method (forms can send POST, even empty) must say application/json.
  const changes = req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH';
  const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
  if (!changes && !hasBody) return next();
  if (req.headers['content-type'] === undefined || !/^application\/json\s*(;|$)/i.test(req.headers['content-type'])) {
    const emptyHint = changes && !hasBody ? ' (even without a body: a cross-site form can send an empty POST, it cannot send that header)' : '';
    return next(new UnsupportedMediaTypeError(`the request must have Content-Type: application/json${emptyHint}`));
  }
  next();
}

function objectBody(req: Request, allowed: readonly string[]): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidInputError('the body must be a JSON object');
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new InvalidInputError(`unknown field(s): ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`);
  return body as Record<string, unknown>;
}

export function createAdminRouter(deps: AdminDeps): Router {
  const { store, view, config, log, audit } = deps;
  const actor = (req: Request) => req.identity?.name ?? 'unknown';
  /** The store-checked administrator of this request (writes re-check it in their own transaction). */
  const admin = (req: Request) => actorOf(req.identity);
  const router = Router();
  router.use(deps.authenticate, requireRole(ROLE_ADMIN), requireJson, express.json({ limit: '64kb', strict: true }));
  // The credentials were checked before the body was read, which may have taken long: the
  // administrator must still be one now (reads too; writes check again in their transaction).
  router.use(async (req, _res, next) => {
    const current = admin(req);
    if (current) await store.checkActor(current);
    next();
  });

  router.get('/proxy', async (_req, res) => {
    res.json({ url: await store.getProxyUrl() });
  });

  router.put('/proxy', async (req, res) => {
    const body = objectBody(req, ['url']);
    if (!('url' in body)) throw new InvalidInputError('missing field url (a URL, or null to disable the proxy)');
    const target = body['url'] === null ? null : parseTargetUrl(body['url']);
    const self = deps.self();
    if (target && (await isSelfTarget(target, { port: self.port, host: self.host, names: [...self.names, req.hostname ?? ''] }))) {
      throw new InvalidTargetUrlError('url points at this gateway itself: requests would loop');
    }
    const url = target?.href ?? null;
    await store.setProxyUrl(url, { actor: admin(req) });
    audit.record({ actor: actor(req), action: url === null ? 'proxy.disable' : 'proxy.set', target: url });
    await view.refresh();
    log.info({ actor: actor(req), action: url === null ? 'proxy.disable' : 'proxy.set', url }, 'proxy target changed');
    res.json({ url });
  });

  router.get('/users', async (_req, res) => {
    res.json((await store.listUsers()).map(publicUser));
  });

  router.put('/users/:name', async (req, res) => {
    const body = objectBody(req, ['password', 'roles']);
    const { created, user } = await saveUser(store, req.params['name'], body, config, { actor: admin(req), hashSlot: view.hashSlot(`admin\0${actor(req)}`) });
    const action = created ? 'user.create' : 'user.update';
    audit.record({ actor: actor(req), action, target: user.name, details: { roles: user.roles, passwordChanged: body['password'] !== undefined } });
    await view.refresh();
    log.info({ actor: actor(req), action, target: user.name }, 'user saved');
    res.status(created ? 201 : 200).json(publicUser(user));
  });

  router.delete('/users/:name', async (req, res) => {
    const name = req.params['name'] ?? '';
    await removeUser(store, name, { actor: admin(req) });
    audit.record({ actor: actor(req), action: 'user.delete', target: name });
    await view.refresh();
    log.info({ actor: actor(req), action: 'user.delete', target: name }, 'user deleted');
    res.status(204).end();
  });

  router.get('/keys', async (_req, res) => {
    res.json((await store.listKeys()).map(publicKeyInfo));
  });

  router.post('/keys/rotate', async (req, res) => {
    const body = req.body === undefined ? {} : objectBody(req, ['bits', 'force', 'revokeCurrent', 'publishDelay', 'grace']);
    const request = rotationRequestOf(body, API_FIELD_NAMES);
    const change = await rotate(keyLifecycleOf(store, config, Date.now, admin(req)), request);
    audit.record({ actor: actor(req), action: 'key.rotate', target: change.active.kid, details: { ...keyChangeAudit(change, rotationMode(request)), bits: request.bits } });
    await view.refresh();
    if (request.revokeCurrent) log.warn({ actor: actor(req), action: 'key.rotate', target: change.active.kid }, emergencyWarning(config.consumerCacheMaxSeconds));
    else log.info({ actor: actor(req), action: 'key.rotate', target: change.active.kid }, 'signing key rotated');
    res.status(201).json(keyChangeInfo(change));
  });

  const publicSession = (s: SessionRecord) => ({
    handle: s.handle,
    user: s.user,
    createdAt: new Date(s.createdAt).toISOString(),
    lastSeenAt: new Date(s.lastSeenAt).toISOString(),
    expiresAt: new Date(Math.min(s.expiresAt, s.idleExpiresAt)).toISOString(),
    idleExpiresAt: new Date(s.idleExpiresAt).toISOString(),
    absoluteExpiresAt: new Date(s.expiresAt).toISOString(),
    clientAddress: s.clientAddress,
    userAgent: s.userAgent,
  });

  /** Ends sessions for an administrator, audits each, and lets this server see it before answering. */
  const endSessions = async (req: Request, selector: SessionSelector) => {
    const ended = await view.sessions.end(selector, { actor: admin(req) });
    for (const session of ended) audit.record({ actor: actor(req), action: 'session.revoke', target: session.handle, details: { user: session.user } });
    await view.refresh();
    return ended;
  };

  router.get('/sessions', async (req, res) => {
    const user = req.query['user'];
    if (user !== undefined && typeof user !== 'string') throw new InvalidInputError('user must be given once');
    const limit = sessionListLimit(req.query['limit'], 'limit');
    const { sessions, total } = await view.sessions.list({ limit, ...(user === undefined ? {} : { user }) });
    // The body stays an array (existing clients); the count tells a client whether it was cut.
    res.set('x-total-count', String(total)).json(sessions.map(publicSession));
  });

  router.delete('/sessions/:handle', async (req, res) => {
    const ended = await endSessions(req, { handle: req.params['handle'] ?? '' });
    if (ended.length === 0) throw new NotFoundError(`no session ${JSON.stringify(req.params['handle'])}`);
    log.info({ actor: actor(req), action: 'session.revoke', target: req.params['handle'] }, 'session ended');
    res.status(204).end();
  });

  router.delete('/users/:name/sessions', async (req, res) => {
    const ended = await endSessions(req, { user: req.params['name'] ?? '' });
    log.info({ actor: actor(req), action: 'session.revoke', user: req.params['name'], count: ended.length }, 'sessions ended');
    res.json({ ended: ended.length });
  });

  return router;
}
