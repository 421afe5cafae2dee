/**
 * An upstream (node:http, in the test process) for checking what a front proxy buffers: it
 * tells when bytes arrive and when it is held back.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { decodeJwt } from 'jose';

export interface StreamingUpstream {
  url: string;
  /** Resolves when the first bytes of a POST /upload arrive. */
  firstUploadBytes: Promise<void>;
  /** Lets GET /download send the rest of its body. */
  releaseDownload(): void;
  /** How much of GET /large it has written (back-pressure alone holds it), and whether the response closed. */
  large: { written: number; closed: boolean };
  close(): Promise<void>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * An upstream that tells when bytes arrive: POST /upload signals its first body bytes, GET
 * /download sends a first chunk and the rest only when told; WebSocket upgrades get a frame
 * describing the request, then every text frame echoed back.
 */
export async function startStreamingUpstream(): Promise<StreamingUpstream> {
  const firstUploadBytes = deferred<void>();
  const releaseDownload = deferred<void>();
  const sockets = new Set<Duplex>();
  const large = { written: 0, closed: false };
  const server = http.createServer((req, res) => {
    if (req.url === '/upload') {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstUploadBytes.resolve();
        bytes += chunk.length;
      });
      req.on('end', () => res.end(JSON.stringify({ bytes })));
      return;
    }
    if (req.url === '/large') {
      // As fast as the connection takes it: back-pressure alone holds this writer.
      const chunk = Buffer.alloc(1 << 20, 7);
      const pump = () => {
        while (large.written < LARGE_BYTES) {
          large.written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (large.closed = true));
      pump();
      return;
    }
    // A known length: Caddy flushes unknown-length responses at once anyway, not these.
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': String('first chunk\nthe rest\n'.length) });
    res.write('first chunk\n');
    void releaseDownload.promise.then(() => res.end('the rest\n'));
  });
  server.on('upgrade', (req, socket: Duplex) => {
    sockets.add(socket);
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const hello = { url: req.url, sub: decodeJwt(String(req.headers.authorization).slice(7)).sub, proto: req.headers['x-forwarded-proto'], for: req.headers['x-forwarded-for'] };
    socket.write(textFrame(JSON.stringify(hello)));
    // As a real WebSocket server: a close frame or the end of the stream closes the connection.
    socket.on('end', () => socket.end());
    socket.on('data', (frame: Buffer) => {
      if ((frame[0]! & 0x0f) === 8) return void socket.end(Buffer.from([0x88, 0]));
      // One small masked text frame per chunk (the test sends short messages).
      if ((frame[0]! & 0x0f) !== 1) return;
      const length = frame[1]! & 0x7f;
      const mask = frame.subarray(2, 6);
      const payload = Buffer.from(frame.subarray(6, 6 + length).map((byte, i) => byte ^ mask[i % 4]!));
      socket.write(textFrame(`echo: ${payload.toString()}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    firstUploadBytes: firstUploadBytes.promise,
    releaseDownload: () => releaseDownload.resolve(),
    large,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Far more than every socket buffer between the upstream and the client holds. */
export const LARGE_BYTES = 512 << 20;

function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
}

