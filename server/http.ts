/**
 * The node:http server. /proxy is dispatched here, before Express, so the hot path pays no
 * router or middleware cost: identity → token → forward. Everything else goes to the Express app.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Express } from 'express';
import type { Config } from './config.js';
import { BadRequestError, ProxyDisabledError } from './errors.js';
import { identifyRequest } from './identity/index.js';
import type { Logger } from './log.js';
import { Forwarder, isProxyPath, upstreamPath, upstreamRequestHeaders } from './proxy/index.js';
import { sendError } from './respond.js';
import type { Runtime } from './runtime.js';

export interface HttpServerDeps {
  config: Pick<Config, 'insecure' | 'upstreamTimeoutMs'>;
  runtime: Runtime;
  app: Express;
  log: Logger;
}

export interface GatewayHttpServer {
  server: http.Server;
  forwarder: Forwarder;
}

function forwardedHost(req: IncomingMessage): string {
  const host = req.headers.host;
  if (host) return host;
  const { localAddress, localPort } = req.socket;
  return localAddress?.includes(':') ? `[${localAddress}]:${localPort}` : `${localAddress}:${localPort}`;
}

export function createHttpServer(deps: HttpServerDeps): GatewayHttpServer {
  const { config, runtime, app, log } = deps;
  const forwarder = new Forwarder({ timeoutMs: config.upstreamTimeoutMs });
  const passwords = runtime.passwords;

  async function proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = runtime.target;
    if (target === null) throw new ProxyDisabledError();
    const identity = await identifyRequest(req.headers.authorization, { insecure: config.insecure, passwords });
    const path = upstreamPath(target, req.url!);
    const token = await runtime.minter.mint(identity);
    const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, {
      authorization: `Bearer ${token}`,
      forwardedProto: 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http',
      forwardedHost: forwardedHost(req),
      forwardedFor: req.socket.remoteAddress ?? '',
    });
    await forwarder.forward(req, res, { origin: target.origin, path, headers });
  }

  const server = http.createServer((req, res) => {
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
  return { server, forwarder };
}
