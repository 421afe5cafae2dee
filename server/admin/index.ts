/** /admin/*: the proxy target and the users (ROLE_ADMIN, JSON in and out). */
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Config } from '../config.js';
import { InvalidInputError, LastAdminError, NotFoundError, UnsupportedMediaTypeError } from '../errors.js';
import { hashPassword, ROLE_ADMIN, validatePassword, validateRoles, validateUserName } from '../identity/index.js';
import type { Logger } from '../log.js';
import { requireRole } from '../policy.js';
import { parseTargetUrl } from '../proxy/index.js';
import type { Runtime } from '../runtime.js';
import type { Store, UserRecord } from '../store/index.js';

export interface AdminDeps {
  store: Store;
  runtime: Pick<Runtime, 'refresh'>;
  config: Pick<Config, 'minPasswordLength'>;
  authenticate: RequestHandler;
  log: Pick<Logger, 'info'>;
}

export const publicUser = (user: UserRecord) => ({ name: user.name, roles: user.roles, hasPassword: user.passwordHash !== null });

/** A browser form cannot send application/json cross-site without a preflight: the admin API accepts nothing else. */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE' || req.method === 'OPTIONS') return next();
  if (!req.is('application/json')) return next(new UnsupportedMediaTypeError('the body must be application/json'));
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
  const { store, runtime, config, log } = deps;
  const router = Router();
  router.use(deps.authenticate, requireRole(ROLE_ADMIN), requireJson, express.json({ limit: '64kb', strict: true }));

  router.get('/proxy', async (_req, res) => {
    res.json({ url: await store.getProxyUrl() });
  });

  router.put('/proxy', async (req, res) => {
    const body = objectBody(req, ['url']);
    if (!('url' in body)) throw new InvalidInputError('missing field url (a URL, or null to disable the proxy)');
    const url = body['url'] === null ? null : parseTargetUrl(body['url']).href;
    await store.setProxyUrl(url);
    await runtime.refresh();
    log.info({ actor: req.identity?.name, action: 'proxy.set', url }, 'proxy target changed');
    res.json({ url });
  });

  router.get('/users', async (_req, res) => {
    res.json((await store.listUsers()).map(publicUser));
  });

  router.put('/users/:name', async (req, res) => {
    const name = validateUserName(req.params['name']);
    const body = objectBody(req, ['password', 'roles']);
    const roles = body['roles'] === undefined ? undefined : validateRoles(body['roles']);
    const password = body['password'] === undefined ? undefined : validatePassword(body['password'], config.minPasswordLength);
    if (roles !== undefined && !roles.includes(ROLE_ADMIN)) await refuseLastAdminRemoval(store, name);
    const passwordHash = password === undefined ? undefined : await hashPassword(password);
    const { created, user } = await store.upsertUser(name, { ...(roles ? { roles } : {}), ...(passwordHash ? { passwordHash } : {}) });
    await runtime.refresh();
    log.info({ actor: req.identity?.name, action: created ? 'user.create' : 'user.update', target: name, roles: user.roles, passwordChanged: password !== undefined }, 'user saved');
    res.status(created ? 201 : 200).json(publicUser(user));
  });

  router.delete('/users/:name', async (req, res) => {
    const name = req.params['name'] ?? '';
    await refuseLastAdminRemoval(store, name);
    if (!(await store.deleteUser(name))) throw new NotFoundError(`no user ${JSON.stringify(name)}`);
    await runtime.refresh();
    log.info({ actor: req.identity?.name, action: 'user.delete', target: name }, 'user deleted');
    res.status(204).end();
  });

  return router;
}

/** Nobody could administer the gateway any more (except through the CLI): refuse. */
async function refuseLastAdminRemoval(store: Pick<Store, 'listUsers'>, name: string): Promise<void> {
  const admins = (await store.listUsers()).filter((u) => u.roles.includes(ROLE_ADMIN) && u.passwordHash !== null);
  if (admins.length === 1 && admins[0]!.name === name) throw new LastAdminError(`${name} is the last administrator with a password`);
}
