/** Optional bound on proxied request bodies: 413 before forwarding when Content-Length says so, else cut mid-stream. */
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { PayloadTooLargeError } from '../errors.js';

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** The body to forward: `req` itself when unbounded (no extra stream on the hot path). */
export function requestBody(req: IncomingMessage, maxBytes: number): Readable | null {
  if (!hasBody(req)) return null;
  if (maxBytes <= 0) return req;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw new PayloadTooLargeError(`the request body exceeds ${maxBytes} bytes`);
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(new PayloadTooLargeError(`the request body exceeds ${maxBytes} bytes`));
      else callback(null, chunk);
    },
  });
  req.on('error', (err) => counter.destroy(err));
  return req.pipe(counter);
}
