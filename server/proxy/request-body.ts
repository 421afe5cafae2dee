/** The proxied request body: counted for the GC pacer, optionally bounded (413). */
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import type { GcPacer } from './gc-pacer.js';
import { PayloadTooLargeError } from '../errors.js';

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * The body to forward, counted into `pacer` (see gc-pacer.ts) and cut with 413 beyond
 * `maxBytes` (0 = no limit): when Content-Length says so before forwarding, else mid-stream.
 */
export function requestBody(req: IncomingMessage, maxBytes: number, pacer: GcPacer): Readable | null {
  if (!hasBody(req)) return null;
  const limit = maxBytes > 0 ? maxBytes : Infinity;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw new PayloadTooLargeError(`the request body exceeds ${maxBytes} bytes`);
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      pacer.relayed(chunk.length);
      if (seen > limit) callback(new PayloadTooLargeError(`the request body exceeds ${maxBytes} bytes`));
      else callback(null, chunk);
    },
  });
  req.on('error', (err) => counter.destroy(err));
  return req.pipe(counter);
}
