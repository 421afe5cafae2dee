/**
 * The node:http server. /proxy is dispatched here, before Express, so the hot path pays no
 * router or middleware cost: identity → token → forward. Everything else goes to the Express app.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Express } from 'express';
import type { Config } from './config.js';
import { BadRequestError, LoopDetectedError, MethodNotAllowedError, NotFoundError, ProxyDisabledError } from './errors.js';
import { identifyRequest } from './identity/index.js';
import type { Logger } from './log.js';
import type { Duplex } from 'node:stream';
import { createUpgradeForwarder, forwardedOf, Forwarder, hasLooped, isProxyPath, refuseUpgrade, requestBody, upstreamPath, upstreamRequestHeaders, type GatewayHeaders, type TargetUrl } from './proxy/index.js';
import { sendError } from './respond.js';
import type { Runtime } from './runtime.js';

export interface HttpServerDeps {
  config: Pick<Config, 'insecure' | 'upstreamTimeoutMs' | 'trustProxy' | 'publicUrl' | 'maxBodyBytes' | 'maxHeaderSize'>;
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

export function createHttpServer(deps: HttpServerDeps): GatewayHttpServer {
  const { config, runtime, app, log, viaName } = deps;
  const forwarder = new Forwarder({ timeoutMs: config.upstreamTimeoutMs });
  const passwords = runtime.passwords;
  const ownVia = `1.1 ${viaName}`;

  const upgrades = createUpgradeForwarder({ timeoutMs: config.upstreamTimeoutMs, onError: (err) => log.warn({ err: err.message }, 'WebSocket upstream failed') });
  const upgradedSockets = new Set<Duplex>();

  /** Policy shared by plain requests and upgrades: target, loop, identity, path, token → our headers. */
  async function prepare(req: IncomingMessage): Promise<{ target: TargetUrl; path: string; own: GatewayHeaders }> {
    const target = runtime.target;
    if (target === null) throw new ProxyDisabledError();
    // TRACE would make the upstream echo the request, minted token included, back to the client.
    if (req.method === 'TRACE') throw new MethodNotAllowedError('TRACE is not proxied');
    if (hasLooped(req.headers.via, viaName)) throw new LoopDetectedError('this request already went through this gateway: the proxy target points back at it');
    const forwarded = forwardedOf(req, config.trustProxy, config.publicUrl);
    const identity = await identifyRequest(req.headers.authorization, { insecure: config.insecure, passwords, clientAddress: forwarded.clientAddress });
    const path = upstreamPath(target, req.url!);
    const token = await runtime.minter.mint(identity);
    const incomingVia = req.headers.via;
    const own: GatewayHeaders = {
      authorization: `Bearer ${token}`,
      forwardedProto: forwarded.proto,
      forwardedHost: forwarded.host,
      forwardedFor: forwarded.forwardedFor,
      via: incomingVia === undefined ? ownVia : `${Array.isArray(incomingVia) ? incomingVia.join(', ') : incomingVia}, ${ownVia}`,
    };
    return { target, path, own };
  }

  async function proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { target, path, own } = await prepare(req);
    const body = requestBody(req, config.maxBodyBytes);
    const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, own);
    await forwarder.forward(req, res, { origin: target.origin, path, headers, body });
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!isProxyPath(req.url ?? '')) throw new NotFoundError('upgrades are proxied under /proxy only');
    const { target, path, own } = await prepare(req);
    upgrades.forward(req, socket, head, { origin: target.origin, path, own });
  }

  // Check header/idle deadlines every second (Node's default is 30 s, too coarse for slow-loris).
  const server = http.createServer({ maxHeaderSize: config.maxHeaderSize, connectionsCheckingInterval: 1000 }, (req, res) => {
    const url = req.url ?? '';
    if (isProxyPath(url)) {
      proxy(req, res).catch((err: unknown) => sendError(res, err, 'plain', log));
      return;
    }
    if (url[0] !== '/') {
      // Absolute-form (`GET http://host/... HTTP/1.1`) or `*`: this is not a forward proxy.
      sendError(res, new BadRequestError('the request target must be an absolute path'), 'json', log);
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
