import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { createGcPacer } from '../../server/proxy/gc-pacer.js';
import { requestBody } from '../../server/proxy/request-body.js';

/** A request stand-in: a stream of `chunks` with the given headers. */
function fakeRequest(headers: Record<string, string>, chunks: Buffer[]): IncomingMessage {
  const stream = new PassThrough();
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  return Object.assign(stream, { headers }) as unknown as IncomingMessage;
}

async function drain(body: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of body) bytes += (chunk as Buffer).length;
  return bytes;
}

/** An upload still arriving (`complete` false, nothing ended), and its forwarded body. */
function uploadInProgress(contentLength: number): { req: PassThrough; body: Readable } {
  const req = new PassThrough();
  Object.assign(req, { headers: { 'content-length': String(contentLength) }, complete: false });
  const body = requestBody(req as unknown as IncomingMessage, 0, countingPacer().pacer);
  assert.ok(body);
  return { req, body };
}

function countingPacer(): { pacer: ReturnType<typeof createGcPacer>; collections: () => number } {
  let n = 0;
  return { pacer: createGcPacer({ everyBytes: 1_000, collect: () => n++ }), collections: () => n };
}

describe('requestBody', () => {
  it('is null without a body', () => {
    const { pacer } = countingPacer();
    assert.equal(requestBody(fakeRequest({}, []), 0, pacer), null);
    assert.equal(requestBody(fakeRequest({ 'content-length': '0' }, []), 0, pacer), null);
  });

  it('passes every byte through and counts them into the pacer, with no limit', async () => {
    const { pacer, collections } = countingPacer();
    const body = requestBody(fakeRequest({ 'transfer-encoding': 'chunked' }, Array.from({ length: 10 }, () => Buffer.alloc(500))), 0, pacer);
    assert.ok(body);
    assert.equal(await drain(body), 5_000);
    assert.equal(collections(), 5);
  });

  it('refuses a declared length over the limit before reading anything', () => {
    const { pacer } = countingPacer();
    assert.throws(() => requestBody(fakeRequest({ 'content-length': '101' }, []), 100, pacer), { code: 'ERR_PAYLOAD_TOO_LARGE' });
  });

  it('a client that aborts after the consumer let go of the body raises no unhandled error', async () => {
    const { req, body } = uploadInProgress(100);
    // A consumer (undici) listens for errors while it sends, then lets go (upstream unreachable).
    const consumer = (): void => {};
    body.on('error', consumer);
    body.off('error', consumer);
    req.write(Buffer.alloc(10));
    req.destroy(new Error('aborted'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(body.destroyed, true);
  });

  it('once the body is dropped before the upload is complete, the rest of the upload is discarded', async () => {
    const { req, body } = uploadInProgress(1_000_000);
    body.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    // Flowing again, with nobody reading: writes are not held back.
    for (let i = 0; i < 100; i++) req.write(Buffer.alloc(64 * 1024));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(req.readableFlowing, true);
    assert.equal(req.readableLength, 0, 'nothing piles up');
  });

  it('cuts an undeclared body mid-stream once it passes the limit', async () => {
    const { pacer } = countingPacer();
    const body = requestBody(fakeRequest({ 'transfer-encoding': 'chunked' }, [Buffer.alloc(60), Buffer.alloc(60)]), 100, pacer);
    assert.ok(body);
    await assert.rejects(drain(body), { code: 'ERR_PAYLOAD_TOO_LARGE' });
  });
});
