/** WebSocket upgrades through /proxy carry the JWT and our headers; refusals happen before the upgrade. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { WebSocket } from 'undici';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { loginCookie } from '../helpers/login.js';
import { runCli } from '../helpers/process.js';
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

/** A raw WebSocket handshake from `localAddress`, kept open; resolves with the socket and the first bytes of the answer. */
function openTunnel(port: number, options: { path?: string; extra?: string; localAddress?: string } = {}): Promise<{ socket: import('node:net').Socket; head: string }> {
  return import('node:net').then(
    (net) =>
      new Promise((resolve, reject) => {
        const socket = net.connect({ port, host: '127.0.0.1', localAddress: options.localAddress ?? '127.0.0.1' }, () =>
          socket.write(`GET ${options.path ?? '/proxy/ws'} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${options.extra ?? ''}\r\n`),
        );
        socket.on('error', reject);
        socket.once('data', (d: Buffer) => resolve({ socket, head: d.toString('latin1') }));
      }),
  );
}

describe('WebSocket: one header policy, correct framing, bounded tunnels', () => {
  let gateway: TestGateway;
  let upstream: Awaited<ReturnType<typeof startWsUpstream>>;
  let plain: http.Server;
  before(async () => {
    gateway = await startGateway({ args: ['--tunnel-idle-timeout', '1', '--max-tunnels', '4', '--max-tunnels-per-client', '2'] });
    upstream = await startWsUpstream();
    // An upstream that answers every upgrade with a plain, chunked 200.
    plain = http.createServer((_req, res) => {
      res.write('pl');
      res.end('ain');
    });
    plain.on('upgrade', (_req, socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nX-Upstream: yes\r\n\r\n2\r\npl\r\n3\r\nain\r\n0\r\n\r\n');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${upstream.port}` });
  });
  after(async () => {
    for (const socket of upstream?.sockets ?? []) socket.destroy();
    upstream?.server.close();
    plain?.closeAllConnections();
    plain?.close();
    await gateway?.stop();
  });

  it('strips headers listed in Connection and any body framing, as on a plain request', async () => {
    const { socket, head } = await openTunnel(gateway.port, { extra: 'Connection: Upgrade, X-Secret\r\nX-Secret: s3cr3t\r\nContent-Length: 0\r\nX-Kept: yes\r\n' });
    socket.destroy();
    assert.match(head, /^HTTP\/1\.1 101 /);
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen['x-secret'], undefined, 'listed in Connection: hop-by-hop');
    assert.equal(seen['content-length'], undefined, 'a handshake has no body');
    assert.equal(seen['x-kept'], 'yes');
    assert.equal(String(seen.connection).toLowerCase(), 'upgrade');
  });

  it('refuses a handshake that announces a body (400), before the upstream sees it', async () => {
    const before = upstream.seen.length;
    const answer = await rawRequest(gateway.port, 'GET /proxy/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 5\r\n\r\nhello');
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.equal(upstream.seen.length, before);
  });

  it('relays a non-101 answer as a well-framed response (no Transfer-Encoding over a de-chunked body), then closes', async () => {
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${(plain.address() as AddressInfo).port}` });
    try {
      const answer = await rawRequest(gateway.port, 'GET /proxy/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      const [headText, body] = answer.split('\r\n\r\n');
      assert.match(headText!, /^HTTP\/1\.1 200 /);
      assert.doesNotMatch(headText!, /transfer-encoding/i);
      assert.match(headText!, /\r\nx-upstream: yes/i);
      assert.match(headText!, /\r\nconnection: close/i);
      assert.equal(body, 'plain', 'the body as the upstream meant it, ended by the close');
    } finally {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${upstream.port}` });
    }
  });

  it('closes a tunnel idle for --tunnel-idle-timeout', async () => {
    const { socket, head } = await openTunnel(gateway.port, { localAddress: '127.0.8.1' });
    assert.match(head, /^HTTP\/1\.1 101 /);
    const started = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const idle = Date.now() - started;
    assert.ok(idle >= 700 && idle < 4000, `closed after ${idle} ms`);
  });

  it('caps tunnels per client (--max-tunnels-per-client) and in all (--max-tunnels): 503 with Retry-After, freed when one closes', async () => {
    const open = [await openTunnel(gateway.port, { localAddress: '127.0.9.1' }), await openTunnel(gateway.port, { localAddress: '127.0.9.1' })];
    assert.ok(open.every((t) => t.head.startsWith('HTTP/1.1 101 ')));
    const third = await openTunnel(gateway.port, { localAddress: '127.0.9.1' });
    assert.match(third.head, /^HTTP\/1\.1 503 /);
    assert.match(third.head, /retry-after: 5/i);
    assert.ok(third.head.includes('ERR_TOO_MANY_TUNNELS'));
    open.push(await openTunnel(gateway.port, { localAddress: '127.0.9.2' }), await openTunnel(gateway.port, { localAddress: '127.0.9.3' }));
    const fifth = await openTunnel(gateway.port, { localAddress: '127.0.9.4' });
    assert.match(fifth.head, /^HTTP\/1\.1 503 /, 'the gateway has 4 open');
    open[0]!.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const again = await openTunnel(gateway.port, { localAddress: '127.0.9.4' });
    assert.match(again.head, /^HTTP\/1\.1 101 /, 'a closed tunnel frees its place');
    for (const t of [...open, third, fifth, again]) t.socket.destroy();
  });
});

/** Resolves once `socket` has closed; rejects when it is still open 2 s later. */
function closedWithin(socket: Socket, what: string): Promise<unknown> {
  return Promise.race([
    new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve()))),
    new Promise((_r, reject) => setTimeout(() => reject(new Error(`${what}: the tunnel is still open 2 s later`)), 2000)),
  ]);
}

describe('WebSocket: tunnel places are never lost; a user change closes their tunnels', () => {
  it('a handshake the upstream refuses (plain 200), sent with trailing bytes, gives its place back', async () => {
    const plain = http.createServer((_req, res) => res.end('not a websocket'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const gateway = await startGateway({ args: ['--max-tunnels', '3', '--max-tunnels-per-client', '3'] });
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${(plain.address() as AddressInfo).port}` });
      for (let i = 0; i < 10; i++) {
        const answer = await rawRequest(gateway.port, 'GET /proxy/x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\nX');
        assert.match(answer, /^HTTP\/1\.1 200 /, `attempt ${i}: ${answer.slice(0, 60)}`);
      }
    } finally {
      await gateway.stop();
      plain.closeAllConnections();
      plain.close();
    }
  });

  it('a client that leaves while its credentials are checked gives its place back', async () => {
    const upstream = await startWsUpstream();
    const gateway = await startGateway({ args: ['--max-tunnels', '4', '--max-tunnels-per-client', '4', '--max-login-failures', '1000'] });
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${upstream.port}` });
      await adminJson(gateway, 'PUT', '/admin/users/ana', { password: 'ana-password-12', roles: ['ROLE_USER'] });
      const net = await import('node:net');
      // 8 handshakes with not-yet-checked credentials, each reset while the hash runs.
      await Promise.all(Array.from({ length: 8 }, () => new Promise<void>((resolve) => {
        const socket = net.connect(gateway.port, '127.0.0.1', () => {
          socket.write(`GET /proxy/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: ${basicAuth('ana', 'ana-password-12')}\r\n\r\n`);
          setTimeout(() => socket.resetAndDestroy(), 5);
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      })));
      await new Promise((r) => setTimeout(r, 500));
      const { socket, head } = await openTunnel(gateway.port);
      assert.match(head, /^HTTP\/1\.1 101 /, head);
      socket.destroy();
    } finally {
      for (const s of upstream.sockets) s.destroy();
      upstream.server.close();
      await gateway.stop();
    }
  });

  it('a tunnel opened with a session cookie closes when that session ends (logout, an administrator, the CLI); another session\'s stays until then', async () => {
    const upstream = await startWsUpstream();
    const gateway = await startGateway();
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${upstream.port}` });
      await adminJson(gateway, 'PUT', '/admin/users/vic', { password: 'vic-password-12', roles: ['ROLE_USER'] });
      const [a, b, c] = [await loginCookie(gateway, 'vic', 'vic-password-12'), await loginCookie(gateway, 'vic', 'vic-password-12'), await loginCookie(gateway, 'vic', 'vic-password-12')];
      const tunnels = await Promise.all([a, b, c].map((cookie) => openTunnel(gateway.port, { extra: `Cookie: ${cookie}\r\n` })));
      for (const t of tunnels) assert.match(t.head, /^HTTP\/1\.1 101 /);
      const out = await fetch(`${gateway.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: a } });
      assert.equal(out.status, 303);
      await closedWithin(tunnels[0]!.socket, 'logout');
      const handle = ((await (await fetch(`${gateway.url}/api/session`, { headers: { cookie: b } })).json()) as { session: { handle: string } }).session.handle;
      assert.equal((await adminJson(gateway, 'DELETE', `/admin/sessions/${handle}`)).status, 204);
      await closedWithin(tunnels[1]!.socket, 'an administrator\'s revocation');
      assert.equal(tunnels[2]!.socket.destroyed, false, 'the third session\'s tunnel stays');
      // Ended by another process (the CLI on the same store): seen in the store's change log.
      const third = ((await (await fetch(`${gateway.url}/api/session`, { headers: { cookie: c } })).json()) as { session: { handle: string } }).session.handle;
      const revoked = await runCli(['sessions', 'revoke', third, '--data-dir', gateway.dataDir]);
      assert.equal(revoked.code, 0, revoked.stderr);
      await closedWithin(tunnels[2]!.socket, 'a revocation by the CLI');
    } finally {
      for (const s of upstream.sockets) s.destroy();
      upstream.server.close();
      await gateway.stop();
    }
  });

  it('deleting a user or changing their roles closes their open tunnels; others stay open', async () => {
    const upstream = await startWsUpstream();
    const gateway = await startGateway();
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${upstream.port}` });
      await adminJson(gateway, 'PUT', '/admin/users/tess', { password: 'tess-password-12', roles: ['ROLE_USER'] });
      await adminJson(gateway, 'PUT', '/admin/users/uma', { password: 'uma-password-123', roles: ['ROLE_USER'] });
      const tess = await openTunnel(gateway.port, { extra: `Authorization: ${basicAuth('tess', 'tess-password-12')}\r\n` });
      const uma = await openTunnel(gateway.port, { extra: `Authorization: ${basicAuth('uma', 'uma-password-123')}\r\n` });
      assert.match(tess.head, /^HTTP\/1\.1 101 /);
      assert.equal((await adminJson(gateway, 'PUT', '/admin/users/tess', { roles: [] })).status, 200);
      await closedWithin(tess.socket, 'tess\'s role change');
      assert.equal(uma.socket.destroyed, false, 'uma\'s tunnel stays');
      uma.socket.destroy();
    } finally {
      for (const s of upstream.sockets) s.destroy();
      upstream.server.close();
      await gateway.stop();
    }
  });
});
