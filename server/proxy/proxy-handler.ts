/**
 * The /proxy request flow, plain requests and WebSocket upgrades alike, in the order the docs
 * give (docs/http-api.md): target (501), TRACE and method overrides (405), loop (508), identity
 * (401/429/503), path (400), token, headers, forward. Synchronous when the caller is known without
 * waiting (anonymous, --insecure, a cached check) and a signed token is cached: no promise at all.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config.js';
import { BusyError, CrossSiteRequestError, LoginRequiredRedirect, LoopDetectedError, MethodNotAllowedError, NotFoundError, ProxyDisabledError, SessionInvalidError, UnauthorizedError } from '../errors.js';
import { isCrossSiteBrowserRequest, overridesToTrace } from '../policy/index.js';
import { identityRequestOf, type Identity, type IdentityPipeline, type LoginThrottle, type RequestTrust } from '../identity/index.js';
import type { Logger } from '../log.js';
import { sendError } from '../send-error.js';
import type { SessionManager } from '../sessions/index.js';
import type { TokenMinter } from '../tokens/index.js';
import { Forwarder } from './forwarder.js';
import { createGcPacer, GC_EVERY_BYTES, minorGc } from './gc-pacer.js';
import { isProxyPath, upstreamPath } from './forward-path.js';
import { upstreamRequestHeaders, type GatewayHeaders } from './headers.js';
import { identityHeaderWriter } from './identity-headers.js';
import { requestBody } from './request-body.js';
import { hasLooped } from './self-target.js';
import type { TargetUrl } from './target-url.js';
import { forwardedOf } from './trust-proxy.js';
import { TunnelLimits } from './tunnel-limits.js';
import { createUpgradeForwarder } from './websocket.js';

/** What the flow reads of the running gateway's state, each time (it changes at run time). */
export interface ProxyState {
  readonly target: TargetUrl | null;
  readonly minter: Pick<TokenMinter, 'peek' | 'mint'>;
  readonly throttle: Pick<LoginThrottle, 'clientKey'>;
  /** Calls `listener` with the names of users that changed (null: possibly anyone). */
  onUsersChanged(listener: (names: readonly string[] | null) => void): void;
  /** Sessions: their ends close the tunnels they opened. */
  readonly sessions: Pick<SessionManager, 'onEnded'>;
}

export interface ProxyHandlerDeps {
  config: Pick<Config, 'upstreamTimeoutMs' | 'trustProxy' | 'publicUrl' | 'maxBodyBytes' | 'tunnelIdleTimeoutMs' | 'maxTunnels' | 'maxTunnelsPerClient' | 'requireLogin' | 'allowedOrigins' | 'identityHeaders' | 'assertions'>;
  /** This gateway's origin as a browser sees it (the cross-site check compares with it). */
  originOf: (req: IncomingMessage) => string;
  state: ProxyState;
  /** Who is calling (identity/pipeline.ts), and how to read the client's address. */
  identities: IdentityPipeline;
  trust: RequestTrust;
  log: Pick<Logger, 'warn' | 'error' | 'debug'>;
  /** This deployment's Via pseudonym (loop detection). */
  viaName: string;
}

export interface ProxyHandler {
  /** A plain request under /proxy. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** An upgrade request (any path: outside /proxy is a 404); rejects with the error to refuse it with. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
  /** Closes the upstream connection pools. */
  close(): Promise<void>;
}

function throwDisabled(): never {
  throw new ProxyDisabledError();
}

export function createProxyHandler(deps: ProxyHandlerDeps): ProxyHandler {
  const { config, state, log, viaName, identities, trust } = deps;
  const pacer = createGcPacer({ everyBytes: GC_EVERY_BYTES, collect: minorGc() });
  const forwarder = new Forwarder({ timeoutMs: config.upstreamTimeoutMs, pacer });
  const ownVia = `1.1 ${viaName}`;
  // --identity-header values, per identity; and the names a client can never send on top of the built-in ones.
  const identityHeaders = identityHeaderWriter(config.identityHeaders, (name, omitted) => log.debug({ user: name, omitted }, 'identity headers left out (no value, or not a safe header value)'));
  const identityNames: ReadonlySet<string> = new Set([...config.identityHeaders.map((h) => h.name), ...(config.assertions.trustedJwt ? [config.assertions.trustedJwt.header] : [])]);
  const tunnels = new TunnelLimits({ max: config.maxTunnels, maxPerClient: config.maxTunnelsPerClient });
  const upgrades = createUpgradeForwarder({
    timeoutMs: config.upstreamTimeoutMs,
    idleTimeoutMs: config.tunnelIdleTimeoutMs,
    onError: (err) => log.warn({ err: err.message }, 'WebSocket upstream failed'),
  });

  interface Prepared {
    target: TargetUrl;
    path: string;
    own: GatewayHeaders;
    identity: Identity;
  }

  /**
   * `prepareNow`, waiting for a password check or a signature when needed. A change to the
   * caller's user seen while the token was signed voids the identity: ask again, so that the
   * request never goes out with roles the user no longer has.
   */
  async function prepare(req: IncomingMessage): Promise<Prepared> {
    const ready = prepareNow(req);
    if (ready) return ready;
    for (let attempt = 0; attempt < 3; attempt++) {
      const slow = await slowParts(req);
      // With the slow parts given, prepareNow never answers undefined.
      if (identities.isCurrent(slow.identity)) return prepareNow(req, slow)!;
    }
    throw new BusyError('the user changed while this request was being authenticated; try again', 1);
  }

  /** The parts that may need a password check (scrypt) or a signature: identity and token. */
  async function slowParts(req: IncomingMessage): Promise<{ identity: Identity; token: string }> {
    const identity = await identities.identify(identityRequestOf(req, trust));
    return { identity, token: await state.minter.mint(identity) };
  }

  /**
   * Policy shared by plain requests and upgrades: target, loop, identity, path, token → our
   * headers. Synchronous when the caller is known without waiting (anonymous, --insecure, or a
   * cached password check) and a signed token is cached; `undefined` means "wait for `prepare`".
   * Throws GatewayErrors.
   */
  function prepareNow(req: IncomingMessage, slow: { identity: Identity; token: string } | null = null): Prepared | undefined {
    const target = state.target ?? throwDisabled();
    // TRACE would make the upstream echo the request, minted token included, back to the client;
    // so would a method override naming it, at an upstream that honours overrides.
    if (req.method === 'TRACE') throw new MethodNotAllowedError('TRACE is not proxied');
    if (overridesToTrace(req)) throw new MethodNotAllowedError('a method override naming TRACE or TRACK is not proxied');
    const incomingVia = req.headers.via;
    if (hasLooped(incomingVia, viaName)) throw new LoopDetectedError('this request already went through this gateway: the proxy target points back at it');
    const identity = slow?.identity ?? identities.known(identityRequestOf(req, trust));
    if (identity === undefined) return undefined;
    checkPolicy(req, identity);
    const token = slow?.token ?? state.minter.peek(identity);
    if (token === undefined) return undefined;
    const path = upstreamPath(target, req.url!);
    const forwarded = forwardedOf(req, config.trustProxy, config.publicUrl);
    const own: GatewayHeaders = {
      authorization: `Bearer ${token}`,
      forwardedProto: forwarded.proto,
      forwardedHost: forwarded.host,
      forwardedFor: forwarded.forwardedFor,
      via: incomingVia === undefined ? ownVia : `${Array.isArray(incomingVia) ? incomingVia.join(', ') : incomingVia}, ${ownVia}`,
      identity: identityHeaders(identity),
      identityNames,
    };
    return { target, path, own, identity };
  }

  /**
   * What /proxy asks of an identity before forwarding it: credentials a browser sends on its own
   * (the session cookie, cached Basic, a load balancer's assertion) may not drive an unsafe method (nor open a WebSocket) from
   * another site; with --require-login, nobody is anonymous.
   */
  function checkPolicy(req: IncomingMessage, identity: Identity): void {
    if (isCrossSiteBrowserRequest(req, identity, deps.originOf(req), config.allowedOrigins)) {
      throw new CrossSiteRequestError('a request from another site with the browser\'s credentials is refused');
    }
    // An --auth-exempt path is meant to be reachable without the load balancer's login.
    if (config.requireLogin && identity.via === 'anonymous' && !config.assertions.authExempt.matches(req.url ?? '')) {
      if (wantsPage(req)) throw loginRedirect(req);
      throw new UnauthorizedError('log in first');
    }
  }

  /** A browser navigating to a page (not a script, not a WebSocket). */
  const wantsPage = (req: IncomingMessage) => (req.method === 'GET' || req.method === 'HEAD') && req.headers.upgrade === undefined && /\btext\/html\b/i.test(String(req.headers.accept ?? ''));
  const loginRedirect = (req: IncomingMessage, setCookie?: string | string[]) => new LoginRequiredRedirect(`/login?next=${encodeURIComponent(req.url ?? '/proxy')}`, setCookie);

  /** With --require-login, a page opened with an ended session goes to the login page (the cookie cleared), not to a bare 401. */
  const fail = (req: IncomingMessage, res: ServerResponse) => (err: unknown) =>
    sendError(res, config.requireLogin && err instanceof SessionInvalidError && wantsPage(req) ? loginRedirect(req, err.headers['set-cookie']) : err, 'plain', log);

  function forward(req: IncomingMessage, res: ServerResponse, { target, path, own }: Prepared): Promise<void> {
    const body = requestBody(req, config.maxBodyBytes, pacer);
    const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, own);
    return forwarder.forward(req, res, { origin: target.origin, path, headers, body });
  }


  function handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      const ready = prepareNow(req);
      if (ready) {
        forward(req, res, ready).catch(fail(req, res));
        return;
      }
    } catch (err) {
      fail(req, res)(err);
      return;
    }
    prepare(req)
      .then((prepared) => forward(req, res, prepared))
      .catch(fail(req, res));
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!isProxyPath(req.url ?? '')) throw new NotFoundError('upgrades are proxied under /proxy only');
    // Counted from the handshake itself, before anything waits: a client that leaves while its
    // credentials are checked gives its place back when its socket closes, like any other.
    const clientKey = state.throttle.clientKey(forwardedOf(req, config.trustProxy, config.publicUrl).clientAddress);
    tunnels.admit(clientKey, socket);
    const { target, path, own, identity } = await prepare(req);
    if (socket.destroyed) return;
    tunnels.belongsTo(socket, identity);
    upgrades.forward(req, socket, head, { origin: target.origin, path, own });
  }

  // A tunnel carries its user's identity for as long as it lives: a change to that user (deleted,
  // demoted, new password) closes it, as the next plain request would see the change.
  state.onUsersChanged((names) => tunnels.closeFor(names));
  state.sessions.onEnded((keys) => tunnels.closeSessions(keys));

  return { handle, upgrade, close: () => forwarder.close() };
}
