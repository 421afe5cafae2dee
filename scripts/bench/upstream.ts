/**
 * The benchmark's upstream: a plain node:http server, run as its own process by scripts/bench.ts
 * so that it never shares an event loop with the load generator.
 *
 *   GET /big?bytes=N  streams N bytes (64 KiB writes from one preallocated buffer, back-pressure)
 *   GET  anything     100-byte body
 *   POST anything     consumes the body as it arrives and answers its byte count
 *
 * Prints `listening on http://127.0.0.1:PORT` once ready; exits on SIGTERM/SIGINT or when its
 * standard input closes (the parent is gone).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const SMALL_BODY = Buffer.alloc(100, 'x');
const CHUNK = Buffer.alloc(64 * 1024, 'b');
const MAX_BIG = 64 * 1024 ** 3;

function streamBytes(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  let sent = 0;
  const pump = (): void => {
    while (sent < total && !res.destroyed) {
      const chunk = total - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, total - sent);
      sent += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

function countBody(req: IncomingMessage, res: ServerResponse): void {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    const body = String(bytes);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  req.on('error', () => res.destroy());
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'POST' || req.method === 'PUT') {
    countBody(req, res);
    return;
  }
  if (url.startsWith('/big')) {
    const bytes = Number(new URL(url, 'http://upstream').searchParams.get('bytes') ?? '0');
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_BIG) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('bytes must be an integer between 0 and 64 GiB\n');
      return;
    }
    streamBytes(res, bytes);
    return;
  }
  // Drain any (unexpected) body before answering so the connection stays reusable.
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL_BODY.length });
  res.end(SMALL_BODY);
});
// Proxies keep pooled connections open for seconds; never be the side that closes them mid-run.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 0;

const stop = (): void => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
});
