/** WebSocket upgrades through /proxy carry the JWT and our headers; refusals happen before the upgrade. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { WebSocket } from 'undici';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw.js';

/** A minimal WebSocket upstream: handshake, then one text frame telling what it saw. */
function startWsUpstream(): Promise<{ server: http.Server; port: number; seen: http.IncomingHttpHeaders[]; sockets: Set<import('node:stream').Duplex> }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const sockets = new Set<import('node:stream').Duplex>();
  const server = http.createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req, socket) => {
    sockets.add(socket);
    seen.push(req.headers);
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const payload = Buffer.from(JSON.stringify({ url: req.url, sub: decodeJwt(String(req.headers.authorization).slice(7)).sub }));
    socket.write(Buffer.concat([Buffer.from([0x81, payload.length]), payload]));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, seen, sockets })));
}

function receiveOne(url: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers } as unknown as string[]);
    ws.addEventListener('message', (event) => {
      resolve(String(event.data));
      ws.close();
    });
    ws.addEventListener('error', () => reject(new Error('websocket error')));
  });
}

describe('WebSocket through /proxy', () => {
  let gateway: TestGateway;
  let upstream: Awaited<ReturnType<typeof startWsUpstream>>;
  before(async () => {
    gateway = await startGateway();
    upstream = await startWsUpstream();
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${upstream.port}/base` });
    await adminJson(gateway, 'PUT', '/admin/users/wes', { password: 'wes-password-12', roles: ['ROLE_USER'] });
  });
  after(async () => {
    for (const socket of upstream?.sockets ?? []) socket.destroy();
    upstream?.server.close();
    await gateway?.stop();
  });

  it('upgrades with the JWT of the caller, under the base path, without the client credentials', async () => {
    const wsUrl = gateway.url.replace('http', 'ws');
    assert.deepEqual(JSON.parse(await receiveOne(`${wsUrl}/proxy/socket?x=1`)), { url: '/base/socket?x=1', sub: 'anonymousUser' });
    const auth = basicAuth('wes', 'wes-password-12');
    assert.deepEqual(JSON.parse(await receiveOne(`${wsUrl}/proxy/socket`, { authorization: auth })), { url: '/base/socket', sub: 'wes' });
    const headers = upstream.seen.at(-1)!;
    assert.match(String(headers.authorization), /^Bearer /);
    assert.equal(headers['x-forwarded-host'], `127.0.0.1:${gateway.port}`);
    assert.match(String(headers.via), /jwtgate-/);
    assert.ok(!JSON.stringify(headers).includes(auth.slice(6)));
  });

  it('refuses before upgrading: bad credentials 401, climbing path 400, outside /proxy 404', async () => {
    const handshake = (path: string, extra = '') => rawRequest(gateway.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`);
    const before = upstream.seen.length;
    assert.match(await handshake('/proxy/socket', `Authorization: ${basicAuth('wes', 'wrong-password')}\r\n`), /^HTTP\/1\.1 401 /);
    assert.match(await handshake('/proxy/%2e%2e/socket'), /^HTTP\/1\.1 400 /);
    assert.match(await handshake('/admin/users'), /^HTTP\/1\.1 404 /);
    assert.equal(upstream.seen.length, before);
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
  });
});

describe('WebSocket: bounded shutdown', () => {
  it('SIGTERM cuts open tunnels after --drain-timeout', async () => {
    const net = await import('node:net');
    const echo = http.createServer();
    echo.on('upgrade', (req, socket) => {
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const gateway = await startGateway({ args: ['--drain-timeout', '1'] });
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${(echo.address() as AddressInfo).port}` });
      const tunnel = net.connect(gateway.port, '127.0.0.1', () =>
        tunnel.write('GET /proxy/ok HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'),
      );
      tunnel.on('error', () => {});
      await new Promise<void>((resolve) => tunnel.once('data', () => resolve()));
      const started = Date.now();
      gateway.proc.kill('SIGTERM');
      const exit = await Promise.race([gateway.exited, new Promise((r) => setTimeout(() => r('still running after 6 s'), 6000))]);
      assert.equal(exit, 0);
      assert.ok(Date.now() - started < 4000, `exit took ${Date.now() - started} ms with a tunnel open`);
      tunnel.destroy();
    } finally {
      await gateway.stop();
      echo.closeAllConnections();
      echo.close();
    }
  });
});
