/** 502 when the upstream is unreachable, 504 when it is too slow; the gateway keeps serving. */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { adminJson, startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';

describe('upstream failures', () => {
  let gateway: TestGateway;
  let slow: http.Server;
  let slowPort = 0;

  before(async () => {
    gateway = await startGateway({ args: ['--upstream-timeout', '1'] });
    slow = http.createServer((req, res) => {
      if (req.url === '/fast') {
        res.end('fast');
        return;
      }
      if (req.url === '/early-hints') {
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
        res.writeHead(200, { 'content-type': 'text/plain', 'x-final': 'yes' });
        res.end('final answer');
        return;
      }
      const timer = setTimeout(() => res.end('late'), 3000);
      res.on('close', () => clearTimeout(timer));
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    slowPort = (slow.address() as AddressInfo).port;
  });
  after(async () => {
    slow?.closeAllConnections();
    slow?.close();
    await gateway?.stop();
  });

  /** A port nothing listens on. */
  async function closedPort(): Promise<number> {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    return port;
  }

  it('an informational response (103 Early Hints) before the final one: the client gets the final response', async () => {
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${slowPort}` });
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gateway.url}/proxy/early-hints`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-final'), 'yes');
      assert.equal(await res.text(), 'final answer');
    }
  });

  it('502 with a plain-text body when nothing listens on the target', async () => {
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${await closedPort()}` });
    const res = await fetch(`${gateway.url}/proxy/x`);
    assert.equal(res.status, 502);
    assert.match(res.headers.get('content-type')!, /^text\/plain/);
    assert.match(await res.text(), /unreachable/i);
  });

  it('a small POST to an unreachable upstream gets its 502 at once (a body read whole is not a client gone)', async () => {
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${await closedPort()}` });
    const started = Date.now();
    const res = await fetch(`${gateway.url}/proxy/x`, { method: 'POST', body: 'hello', signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 502);
    assert.match(await res.text(), /unreachable/i);
    assert.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms`);
  });

  it('after a 502 the unread rest of an upload is discarded, and the next request on the connection is served', async () => {
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${await closedPort()}` });
    const body = 'b'.repeat(1024 * 1024);
    const answer = await rawRequest(
      gateway.port,
      `POST /proxy/upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      { timeoutMs: 10_000 },
    );
    assert.match(answer, /^HTTP\/1\.1 502 /);
    assert.match(answer.slice(answer.indexOf('\r\n\r\n')), /HTTP\/1\.1 200 /, 'the request after the upload got its answer');
  });

  it('survives a client that leaves mid-upload while its request waits behind a password check (upstream unreachable)', async () => {
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${await closedPort()}` });
    // Pipelined: a basic-auth GET of an unknown user (a scrypt check keeps it pending), then a
    // POST whose body has barely started; the connection is then reset. The POST's body stream
    // outlives undici's interest in it (the upstream is unreachable) and then errors.
    const unknown = `Basic ${Buffer.from('nobody-here:some-password-1').toString('base64')}`;
    for (const delayMs of [5, 15, 30]) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(gateway.port, '127.0.0.1', () => {
          socket.write(`GET /proxy/a HTTP/1.1\r\nHost: x\r\nAuthorization: ${unknown}\r\n\r\nPOST /proxy/b HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789`);
          setTimeout(() => {
            socket.resetAndDestroy();
            resolve();
          }, delayMs);
        });
        // A gateway that died refuses the next connection: go on to the check below.
        socket.on('error', () => resolve());
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200, 'the gateway is still up');
  });

  it('504 when the upstream takes a whole small POST body and then does not answer', async () => {
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${slowPort}` });
    const started = Date.now();
    const res = await fetch(`${gateway.url}/proxy/slow`, { method: 'POST', body: 'hello', signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 504);
    assert.ok(Date.now() - started < 2900, 'answered before the upstream did');
  });

  it('504 with a plain-text body when the upstream does not answer within --upstream-timeout', async () => {
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${slowPort}` });
    const started = Date.now();
    const res = await fetch(`${gateway.url}/proxy/slow`);
    assert.equal(res.status, 504);
    assert.match(await res.text(), /timed out/i);
    assert.ok(Date.now() - started < 2900, 'answered before the upstream did');
  });

  it('keeps serving afterwards', async () => {
    const res = await fetch(`${gateway.url}/proxy/fast`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'fast');
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
  });
});
