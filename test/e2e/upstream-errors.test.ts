/** 502 when the upstream is unreachable, 504 when it is too slow; the gateway keeps serving. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { adminJson, startGateway, type TestGateway } from '../helpers/gateway.js';

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
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${port}` });
    const res = await fetch(`${gateway.url}/proxy/x`);
    assert.equal(res.status, 502);
    assert.match(res.headers.get('content-type')!, /^text\/plain/);
    assert.match(await res.text(), /unreachable/i);
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
