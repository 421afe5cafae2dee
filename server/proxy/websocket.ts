/**
 * WebSocket upgrades through /proxy, on http-proxy-middleware (the hot path forwards plain
 * requests with undici, which does not tunnel upgrades). The upgrade request goes through the
 * same identity → token → headers rules as any proxied request: the upstream sees the JWT, our
 * X-Forwarded-* and Via, never the client's credentials.
 *
 * http-proxy-middleware (with http-proxy and its dependencies, ~8 MiB of RSS) is loaded on the
 * first upgrade, not at start: most deployments never proxy a WebSocket, and every megabyte of
 * the idle process counts in the 1 GiB transfer bar (README "Performance").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'http-proxy-middleware';
import { BadRequestError, toGatewayError, toResponse, UpstreamUnreachableError, type GatewayError } from '../errors.js';
import type { GatewayHeaders } from './headers.js';
import { upstreamRequestHeaders } from './headers.js';

const TARGET = Symbol('jwtgate.upgradeTarget');
type UpgradeRequest = IncomingMessage & { [TARGET]?: string };

/** Writes a minimal HTTP error answer on a socket that was never upgraded, then closes it. */
export function refuseUpgrade(socket: Duplex, error: unknown): void {
  const err: GatewayError = toGatewayError(error);
  const { status, headers, body } = toResponse(err, 'plain');
  const head = Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${err.code}\r\n${head}\r\n${body}`);
  socket.destroy();
}

export interface UpgradeForwarder {
  forward(req: IncomingMessage, socket: Duplex, head: Buffer, upstream: { origin: string; path: string; own: GatewayHeaders }): void;
}

export interface UpgradeForwarderOptions {
  /** How long the upstream has to answer the upgrade, ms. */
  timeoutMs: number;
  onError: (err: Error) => void;
}

type UpgradeProxy = RequestHandler<IncomingMessage, ServerResponse>;

async function loadUpgradeProxy(options: UpgradeForwarderOptions): Promise<UpgradeProxy> {
  const { onError } = options;
  const { createProxyMiddleware } = await import('http-proxy-middleware');
  return createProxyMiddleware<IncomingMessage, ServerResponse>({
    router: (req) => (req as UpgradeRequest)[TARGET]!,
    target: 'http://unused.invalid',
    ws: true,
    changeOrigin: true,
    xfwd: false,
    logger: undefined,
    on: {
      proxyReqWs: (proxyReq) => {
        // An upstream that never answers the upgrade: give up after --upstream-timeout.
        proxyReq.setTimeout(options.timeoutMs, () => proxyReq.destroy(new Error('upstream upgrade timed out')));
      },
      error: (err, _req, resOrSocket) => {
        onError(err);
        const socket = resOrSocket as Duplex & { bytesWritten?: number };
        // Once the 101 went out the tunnel is raw bytes: no HTTP error can be written into it.
        if ((socket.bytesWritten ?? 0) > 0) socket.destroy();
        else refuseUpgrade(socket, new UpstreamUnreachableError('Upstream refused or failed the upgrade.'));
      },
    },
  });
}

export function createUpgradeForwarder(options: UpgradeForwarderOptions): UpgradeForwarder {
  let proxy: Promise<UpgradeProxy> | null = null;
  return {
    forward(req, socket, head, upstream) {
      if (String(req.headers.upgrade).toLowerCase() !== 'websocket') return refuseUpgrade(socket, new BadRequestError('only WebSocket upgrades are proxied'));
      // Rebuild the headers under our rules, keeping the ones the WebSocket handshake needs.
      const flat = upstreamRequestHeaders(req.rawHeaders, undefined, upstream.own);
      const headers: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) {
        const name = flat[i]!.toLowerCase();
        headers[name] = name in headers ? `${headers[name]}, ${flat[i + 1]}` : flat[i + 1]!;
      }
      headers['connection'] = 'Upgrade';
      headers['upgrade'] = 'websocket';
      req.headers = headers;
      req.url = upstream.path;
      (req as UpgradeRequest)[TARGET] = upstream.origin;
      proxy ??= loadUpgradeProxy(options);
      proxy
        .then(
          (handler) => {
            // The client may have gone while the module loaded (first upgrade only).
            if (socket.destroyed) return;
            handler.upgrade(req, socket as import('node:net').Socket, head);
          },
          (err: unknown) => {
            // Forget the failed load (the next upgrade calls import() again); this one gets a plain 500.
            proxy = null;
            options.onError(new Error(`WebSocket forwarding could not be loaded: ${err instanceof Error ? err.message : String(err)}`));
            refuseUpgrade(socket, err);
          },
        )
        .catch((err: unknown) => refuseUpgrade(socket, err));
    },
  };
}
