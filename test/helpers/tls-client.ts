/**
 * An HTTPS and WebSocket client for a front proxy under test: URLs name the public host
 * (`https://jwtgate.example.com:PORT/...`, so SNI and Host are what a browser sends), the
 * connection goes to 127.0.0.1:PORT from CLIENT_ADDRESS, and only the given CA is trusted.
 */
import type { Readable } from 'node:stream';
import tls from 'node:tls';
import { Agent, request, WebSocket } from 'undici';

/** A loopback address other than the proxy's own (127.0.0.1), so the client's address is tellable. */
export const CLIENT_ADDRESS = '127.0.0.2';

export interface TlsClient {
  /** `https://<host>:<port>` */
  origin: string;
  request(method: string, path: string, options?: { headers?: Record<string, string>; body?: string | Buffer | Readable }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>;
  /** The response, unread: for checking what arrives before the upstream has finished. */
  stream(method: string, path: string, options?: { headers?: Record<string, string>; body?: string | Buffer | Readable }): Promise<{ status: number; body: Readable }>;
  websocket(path: string, headers?: Record<string, string>): WebSocket;
  /** Resolves once a TLS handshake with the expected certificate succeeds (the proxy may still be getting its certificate). */
  waitForHandshake(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export function tlsClient(options: { host: string; port: number; ca: () => string }): TlsClient {
  const connectOptions = () => ({ host: '127.0.0.1', port: options.port, servername: options.host, ca: options.ca(), localAddress: CLIENT_ADDRESS, ALPNProtocols: ['http/1.1'] });
  const agent = new Agent({
    connect: (_opts, callback) => {
      const socket = tls.connect(connectOptions());
      socket.once('secureConnect', () => callback(null, socket));
      socket.once('error', (err) => callback(err, null));
    },
  });
  const origin = `https://${options.host}:${options.port}`;
  const send = async (method: string, path: string, init: { headers?: Record<string, string>; body?: string | Buffer | Readable } = {}) =>
    request(origin + path, { dispatcher: agent, method: method as 'GET', headers: init.headers ?? {}, body: init.body ?? null });
  return {
    origin,
    async request(method, path, init) {
      const res = await send(method, path, init);
      return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
    },
    async stream(method, path, init) {
      const res = await send(method, path, init);
      return { status: res.statusCode, body: res.body };
    },
    websocket(path, headers = {}) {
      return new WebSocket(`wss://${options.host}:${options.port}${path}`, { dispatcher: agent, headers });
    },
    async waitForHandshake(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const error = await new Promise<Error | null>((resolve) => {
          const socket = tls.connect(connectOptions(), () => {
            socket.destroy();
            resolve(null);
          });
          socket.once('error', resolve);
        });
        if (error === null) return;
        if (Date.now() > deadline) throw new Error(`no TLS handshake with ${origin} within ${timeoutMs} ms: ${error.message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    // destroy, not close: close waits for requests a failed test left open.
    close: () => agent.destroy(),
  };
}
