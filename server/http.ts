/**
 * The node:http server. /proxy is dispatched here, before Express, so the hot path pays no
 * router or middleware cost: identity → token → forward. Everything else goes to the Express app.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Express } from 'express';
import type { Config } from './config.js';
import { BadRequestError, BusyError, LoopDetectedError, MethodNotAllowedError, NotFoundError, ProxyDisabledError } from './errors.js';
import { identifyRequest, knownIdentity, type Identity } from './identity/index.js';
import type { Logger } from './log.js';
import type { Duplex } from 'node:stream';
import { overridesToTrace, TunnelLimits, createGcPacer, createUpgradeForwarder, GC_EVERY_BYTES, minorGc, forwardedOf, Forwarder, hasLooped, isProxyPath, refuseUpgrade, requestBody, upstreamPath, upstreamRequestHeaders, type GatewayHeaders, type TargetUrl } from './proxy/index.js';
import { sendError } from './respond.js';
import type { Runtime } from './runtime.js';

export interface HttpServerDeps {
  config: Pick<Config, 'insecure' | 'upstreamTimeoutMs' | 'trustProxy' | 'publicUrl' | 'maxBodyBytes' | 'maxHeaderSize' | 'tunnelIdleTimeoutMs' | 'maxTunnels' | 'maxTunnelsPerClient'>;
  runtime: Runtime;
  app: Express;
  log: Logger;
  /** This deployment's Via pseudonym (loop detection). */
  viaName: string;
}

export interface GatewayHttpServer {
  server: http.Server;
  forwarder: Forwarder;
  /** Destroys every upgraded (WebSocket) connection: `server.close()` does not track them. */
  closeUpgrades(): void;
}

function throwDisabled(): never {
  throw new ProxyDisabledError();
}

export function createHttpServer(deps: HttpServerDeps): GatewayHttpServer {
  const { config, runtime, app, log, viaName } = deps;
  const pacer = createGcPacer({ everyBytes: GC_EVERY_BYTES, collect: minorGc() });
  const forwarder = new Forwarder({ timeoutMs: config.upstreamTimeoutMs, pacer });
  const passwords = runtime.passwords;
  const ownVia = `1.1 ${viaName}`;

  const upgrades = createUpgradeForwarder({
    timeoutMs: config.upstreamTimeoutMs,
    idleTimeoutMs: config.tunnelIdleTimeoutMs,
    limits: new TunnelLimits({ max: config.maxTunnels, maxPerClient: config.maxTunnelsPerClient }),
    onError: (err) => log.warn({ err: err.message }, 'WebSocket upstream failed'),
  });
  const upgradedSockets = new Set<Duplex>();

  interface Prepared {
    target: TargetUrl;
    path: string;
    own: GatewayHeaders;
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
      if (passwords.isCurrent(slow.identity)) return prepareNow(req, slow)!;
    }
    throw new BusyError('the user changed while this request was being authenticated; try again', 1);
  }

  /** The parts that may need a password check (scrypt) or a signature: identity and token. */
  async function slowParts(req: IncomingMessage): Promise<{ identity: Identity; token: string }> {
    const forwarded = forwardedOf(req, config.trustProxy, config.publicUrl);
    const identity = await identifyRequest(req.headers.authorization, { insecure: config.insecure, passwords, clientAddress: forwarded.clientAddress });
    return { identity, token: await runtime.minter.mint(identity) };
  }

  /**
   * Policy shared by plain requests and upgrades: target, loop, identity, path, token → our
   * headers. Synchronous when the caller is known without waiting (anonymous, --insecure, or a
   * cached password check) and a signed token is cached; `undefined` means "wait for `prepare`".
   * Throws GatewayErrors.
   */
  function prepareNow(req: IncomingMessage, slow: { identity: Identity; token: string } | null = null): Prepared | undefined {
    const target = runtime.target ?? throwDisabled();
    // TRACE would make the upstream echo the request, minted token included, back to the client;
    // so would a method override naming it, at an upstream that honours overrides.
    if (req.method === 'TRACE') throw new MethodNotAllowedError('TRACE is not proxied');
    if (overridesToTrace(req)) throw new MethodNotAllowedError('a method override naming TRACE or TRACK is not proxied');
    const incomingVia = req.headers.via;
    if (hasLooped(incomingVia, viaName)) throw new LoopDetectedError('this request already went through this gateway: the proxy target points back at it');
    let token = slow?.token;
    if (token === undefined) {
      const identity = knownIdentity(req.headers.authorization, { insecure: config.insecure, passwords });
      if (identity === undefined) return undefined;
      token = runtime.minter.peek(identity);
      if (token === undefined) return undefined;
    }
    const path = upstreamPath(target, req.url!);
    const forwarded = forwardedOf(req, config.trustProxy, config.publicUrl);
    const own: GatewayHeaders = {
      authorization: `Bearer ${token}`,
      forwardedProto: forwarded.proto,
      forwardedHost: forwarded.host,
      forwardedFor: forwarded.forwardedFor,
      via: incomingVia === undefined ? ownVia : `${Array.isArray(incomingVia) ? incomingVia.join(', ') : incomingVia}, ${ownVia}`,
    };
    return { target, path, own };
  }

  function forward(req: IncomingMessage, res: ServerResponse, { target, path, own }: Prepared): Promise<void> {
    const body = requestBody(req, config.maxBodyBytes, pacer);
    const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, own);
    return forwarder.forward(req, res, { origin: target.origin, path, headers, body });
  }

  const fail = (res: ServerResponse) => (err: unknown) => sendError(res, err, 'plain', log);

  function proxy(req: IncomingMessage, res: ServerResponse): void {
    try {
      const ready = prepareNow(req);
      if (ready) {
        forward(req, res, ready).catch(fail(res));
        return;
      }
    } catch (err) {
      fail(res)(err);
      return;
    }
    prepare(req)
      .then((prepared) => forward(req, res, prepared))
      .catch(fail(res));
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!isProxyPath(req.url ?? '')) throw new NotFoundError('upgrades are proxied under /proxy only');
    const { target, path, own } = await prepare(req);
    const clientKey = runtime.throttle.clientKey(forwardedOf(req, config.trustProxy, config.publicUrl).clientAddress);
    upgrades.forward(req, socket, head, { origin: target.origin, path, own, clientKey });
  }

  // Check header/idle deadlines every second (Node's default is 30 s, too coarse for slow-loris).
  const server = http.createServer({ maxHeaderSize: config.maxHeaderSize, connectionsCheckingInterval: 1000 }, (req, res) => {
    const url = req.url ?? '';
    if (isProxyPath(url)) {
      proxy(req, res);
      return;
    }
    if (url[0] !== '/') {
      // Absolute-form (`GET http://host/... HTTP/1.1`) or `*`: this is not a forward proxy.
      sendError(res, new BadRequestError('the request target must be an absolute path'), 'json', log);
      return;
    }
    // Our own Via on /api, /admin or anything else: the target points back at this gateway under
    // some spelling the admin check could not see. Refused on every route, not only /proxy, so
    // a proxied request never reaches the gateway's own API with a minted token.
    if (hasLooped(req.headers.via, viaName)) {
      sendError(res, new LoopDetectedError('this request came through this gateway: the proxy target points back at it'), 'json', log);
      return;
    }
    app(req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    upgradedSockets.add(socket);
    socket.once('close', () => upgradedSockets.delete(socket));
    upgrade(req, socket, head).catch((err: unknown) => refuseUpgrade(socket, err));
  });
  return {
    server,
    forwarder,
    closeUpgrades: () => {
      for (const socket of upgradedSockets) socket.destroy();
    },
  };
}
