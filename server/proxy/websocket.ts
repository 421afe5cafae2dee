/**
 * WebSocket upgrades through /proxy, on http-proxy-middleware (the hot path forwards plain
 * requests with undici, which does not tunnel upgrades). The upgrade request goes through the
 * same identity → token → headers rules as any proxied request (headers.ts, `upgrade: true`):
 * the upstream sees the JWT, our X-Forwarded-* and Via, never the client's credentials, nor a
 * header the client listed in Connection, nor body framing (a handshake has no body).
 *
 * Bounds: open tunnels are counted in all and per client (tunnel-limits.ts, by the proxy flow,
 * from the handshake on), and a tunnel with
 * no traffic either way for `idleTimeoutMs` is closed (http-proxy turns socket timeouts off), as
 * is one whose either end closed or ended.
 *
 * An upstream that answers the handshake with anything but 101 gets its answer relayed as a
 * complete HTTP response on a connection that then closes: its body is relayed as received
 * (de-chunked by Node), so the head carries the upstream's Content-Length or none at all (the
 * body then ends with the connection), never a Transfer-Encoding that no longer applies.
 *
 * http-proxy-middleware (with http-proxy and its dependencies, ~8 MiB of RSS) is loaded on the
 * first upgrade, not at start: most deployments never proxy a WebSocket.
 */
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'http-proxy-middleware';
import { BadRequestError, toGatewayError, toResponse, UpstreamUnreachableError, type GatewayError } from '../errors.js';
import { clientResponseHeaders, upstreamRequestHeaders, type GatewayHeaders } from './headers.js';

const TARGET = Symbol('jwtgate.upgradeTarget');
type UpgradeRequest = IncomingMessage & { [TARGET]?: string };

/** Writes a minimal HTTP error answer on a socket that was never upgraded, then closes it. */
export function refuseUpgrade(socket: Duplex, error: unknown): void {
  const err: GatewayError = toGatewayError(error);
  const { status, headers, body } = toResponse(err, 'plain');
  const head = Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' }).flatMap(([k, v]) => (typeof v === 'string' ? [v] : v).map((line) => `${k}: ${line}\r\n`)).join('');
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${err.code}\r\n${head}\r\n${body}`);
  socket.destroy();
}

export interface UpgradeForwarder {
  forward(req: IncomingMessage, socket: Duplex, head: Buffer, upstream: { origin: string; path: string; own: GatewayHeaders }): void;
}

export interface UpgradeForwarderOptions {
  /** How long the upstream has to answer the upgrade, ms. */
  timeoutMs: number;
  /** A tunnel with no traffic either way for this long is closed, ms. */
  idleTimeoutMs: number;
  onError: (err: Error) => void;
}

type UpgradeProxy = RequestHandler<IncomingMessage, ServerResponse>;

/** The head of a relayed non-101 answer: its own status and headers, minus hop-by-hop ones, then close. */
function refusalHead(res: IncomingMessage): string {
  const lines = [`HTTP/1.1 ${res.statusCode ?? 502} ${(res.statusMessage ?? '').replace(/[\r\n]/g, '')}`];
  for (const [name, value] of Object.entries(clientResponseHeaders(res.headers))) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  lines.push('connection: close');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Ties the two ends of a tunnel: both close once neither has sent anything for `ms`, and when
 * either closes or ends (a WebSocket has no use for a half-open connection; the gateway's client
 * sockets allow half-open ones, so a client's FIN alone would leave the tunnel, and its place,
 * held for as long as the upstream keeps its side open).
 */
function tieTunnel(client: Duplex, upstream: Socket, ms: number): void {
  const cut = () => {
    client.destroy();
    upstream.destroy();
  };
  (client as Socket).setTimeout?.(ms, cut);
  upstream.setTimeout(ms, cut);
  client.once('end', () => {
    upstream.end();
    client.end();
  });
  upstream.once('end', () => client.end());
  client.once('close', () => upstream.destroy());
  upstream.once('close', () => client.destroy());
}

/**
 * Takes over the answer events of the handshake request before http-proxy sees them: a non-101
 * answer is relayed correctly framed (http-proxy would write the upstream's raw head, chunked
 * encoding included, over a de-chunked body), and an upgrade gets the idle timeout once
 * http-proxy has set up its sockets (it turns their timeouts off).
 */
function watchHandshake(proxyReq: ClientRequest, client: Duplex, idleTimeoutMs: number): void {
  const emit = proxyReq.emit.bind(proxyReq);
  proxyReq.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'response') {
      const res = args[0] as IncomingMessage;
      if (!client.writable) {
        res.destroy();
        return true;
      }
      client.write(refusalHead(res));
      res.pipe(client);
      res.once('error', () => client.destroy());
      // The answer is complete once written: close the connection, whatever the client still
      // sends (its socket is paused, so its end would never be seen and its place never freed).
      client.once('finish', () => client.destroy());
      return true;
    }
    const handled = emit(event, ...args);
    if (event === 'upgrade') tieTunnel(client, args[1] as Socket, idleTimeoutMs);
    return handled;
  }) as typeof proxyReq.emit;
}

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
      proxyReqWs: (proxyReq, _req, socket) => {
        // An upstream that never answers the upgrade: give up after --upstream-timeout.
        proxyReq.setTimeout(options.timeoutMs, () => proxyReq.destroy(new Error('upstream upgrade timed out')));
        watchHandshake(proxyReq, socket, options.idleTimeoutMs);
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

/** A handshake with a body: its bytes would reach the upstream as the first frames. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length.trim() !== '0') || req.headers['transfer-encoding'] !== undefined;
}

export function createUpgradeForwarder(options: UpgradeForwarderOptions): UpgradeForwarder {
  let proxy: Promise<UpgradeProxy> | null = null;
  return {
    forward(req, socket, head, upstream) {
      if (String(req.headers.upgrade).toLowerCase() !== 'websocket') return refuseUpgrade(socket, new BadRequestError('only WebSocket upgrades are proxied'));
      if (req.method !== 'GET') return refuseUpgrade(socket, new BadRequestError('a WebSocket handshake is a GET'));
      if (hasBody(req)) return refuseUpgrade(socket, new BadRequestError('a WebSocket handshake has no body'));
      const flat = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, upstream.own, { upgrade: true });
      const headers: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) {
        const name = flat[i]!.toLowerCase();
        headers[name] = name in headers ? `${headers[name]}, ${flat[i + 1]}` : flat[i + 1]!;
      }
      req.headers = headers;
      req.url = upstream.path;
      (req as UpgradeRequest)[TARGET] = upstream.origin;
      proxy ??= loadUpgradeProxy(options);
      proxy
        .then(
          (handler) => {
            // The client may have gone while the module loaded (first upgrade only).
            if (socket.destroyed) return;
            handler.upgrade(req, socket as Socket, head);
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
