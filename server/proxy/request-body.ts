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
  // undici listens for the body's errors only while it sends it. Once it has let go (e.g. the
  // upstream was unreachable), a client that then aborts must not raise an 'error' nobody handles
  // (that would end the process): the forwarder already answers or knows the client is gone.
  counter.on('error', ignoreLateError);
  // The body will not be sent (upstream failure, 413, client gone): let Node discard the rest of
  // the upload as it does for any unread body, instead of leaving it stuck in the pipe.
  counter.once('close', () => {
    if (req.complete) return;
    req.unpipe(counter);
    req.resume();
  });
  return req.pipe(counter);
}

function ignoreLateError(): void {
  // See requestBody: the error reaches undici through its own listener while it matters.
}
