/**
 * The node:http server: /proxy (and every upgrade) goes to the proxy flow (proxy/proxy-handler.ts)
 * before Express, so the hot path pays no router or middleware cost; everything else goes to the
 * Express app, after two checks that hold on every route (an absolute-path target, no own Via).
 */
import http, { type IncomingMessage } from 'node:http';
import type { Express } from 'express';
import type { Config } from '../config.js';
import { BadRequestError, LoopDetectedError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Duplex } from 'node:stream';
import { createProxyHandler, hasLooped, isProxyPath, refuseUpgrade, type ProxyHandler } from '../proxy/index.js';
import { sendError } from '../send-error.js';
import type { IdentityPipelines } from './identity-pipelines.js';
import type { StoreView } from './store-view.js';

export interface HttpServerDeps {
  config: Pick<Config, 'insecure' | 'upstreamTimeoutMs' | 'trustProxy' | 'publicUrl' | 'maxBodyBytes' | 'maxHeaderSize' | 'tunnelIdleTimeoutMs' | 'maxTunnels' | 'maxTunnelsPerClient' | 'requireLogin' | 'allowedOrigins' | 'identityHeaders' | 'assertions'>;
  view: StoreView;
  identities: IdentityPipelines;
  /** This gateway's origin as a browser sees it. */
  originOf: (req: IncomingMessage) => string;
  app: Express;
  log: Logger;
  /** This deployment's Via pseudonym (loop detection). */
  viaName: string;
}

export interface GatewayHttpServer {
  server: http.Server;
  proxy: ProxyHandler;
  /** Destroys every upgraded (WebSocket) connection: `server.close()` does not track them. */
  closeUpgrades(): void;
}

export function createHttpServer(deps: HttpServerDeps): GatewayHttpServer {
  const { config, view, app, log, viaName } = deps;
  const proxy = createProxyHandler({ config, state: view, identities: deps.identities.proxy, trust: deps.identities.trust, originOf: deps.originOf, log, viaName });
  const upgradedSockets = new Set<Duplex>();

  // Check header/idle deadlines every second (Node's default is 30 s, too coarse for slow-loris).
  const server = http.createServer({ maxHeaderSize: config.maxHeaderSize, connectionsCheckingInterval: 1000 }, (req, res) => {
    const url = req.url ?? '';
    if (isProxyPath(url)) {
      proxy.handle(req, res);
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
    proxy.upgrade(req, socket, head).catch((err: unknown) => refuseUpgrade(socket, err));
  });
  return {
    server,
    proxy,
    closeUpgrades: () => {
      for (const socket of upgradedSockets) socket.destroy();
    },
  };
}
