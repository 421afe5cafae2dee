/**
 * What every shipped front proxy (deploy/nginx, deploy/Caddyfile) must do in front of a real
 * gateway started with the systemd unit's flags: one suite, run against real nginx and real
 * Caddy by test/e2e/deploy-nginx.test.ts and deploy-caddy.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { PUBLIC_HOST, serveArgs } from './deploy-files.js';
import { basicAuth, startGateway, type TestGateway } from './gateway.js';
import { tempDir } from './process.js';
import { rawRequest } from './raw.js';
import { CLIENT_ADDRESS, tlsClient, type TlsClient } from './tls-client.js';
import { startExample, type TestUpstream } from './upstream.js';
import { LARGE_BYTES, startStreamingUpstream, type StreamingUpstream } from './streaming-upstream.js';

export interface FrontProxy {
  /** PEM of the CA that signed the proxy's certificate. */
  ca(): string;
  stop(): Promise<unknown>;
}

export interface FrontProxyPorts {
  https: number;
  http: number;
  gateway: number;
  /** A fresh folder for the proxy's configuration, certificates, pid file and temporary files. */
  dir: string;
}

/**
 * Spawn options that run a proxy as an ordinary user: as root (CI, containers), the user nobody,
 * which then owns `dir`; otherwise the current user, unchanged.
 */
export function unprivileged(dir: string): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }));
  for (const entry of [dir, ...fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((name) => `${dir}/${name}`)]) fs.chownSync(entry, uid, gid);
  return { uid, gid };
}

/** A free TCP port on 127.0.0.1 (closed again: the proxy binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Fails with `message` unless `promise` settles within `ms`. */
function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}

const ALICE = basicAuth('Alice', 'alice-password-1');

/** Starts `startProxy` in front of a gateway run with the unit's flags, and checks what a deployment relies on. */
export function frontProxySuite(name: string, skip: string | undefined, startProxy: (ports: FrontProxyPorts) => Promise<FrontProxy>): void {
  describe(`${name} in front of jwtgate (deploy/ files)`, { skip }, () => {
    let gateway: TestGateway;
    let proxy: FrontProxy;
    let client: TlsClient;
    let example: TestUpstream;
    let streaming: StreamingUpstream;
    let httpPort: number;
    const admin = (method: string, path: string, body?: unknown) =>
      client.request(method, path, { headers: { authorization: gateway.adminAuth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

    before(async () => {
      const httpsPort = await freePort();
      httpPort = await freePort();
      // The unit's own flags; only the port, the data folder and the public URL's port differ.
      gateway = await startGateway({ args: serveArgs({ '--port': '0', '--data-dir': tempDir(), '--public-url': `https://${PUBLIC_HOST}:${httpsPort}` }) });
      proxy = await startProxy({ https: httpsPort, http: httpPort, gateway: gateway.port, dir: tempDir(`jwtgate-${name.toLowerCase()}-`) });
      client = tlsClient({ host: PUBLIC_HOST, port: httpsPort, ca: () => proxy.ca() });
      await client.waitForHandshake();
      example = await startExample('node-zero-deps', { JWKS_URL: `${gateway.url}/.well-known/jwks.json` });
      streaming = await startStreamingUpstream();
    });
    after(async () => {
      await client?.close();
      await proxy?.stop();
      await gateway?.stop();
      await example?.stop();
      await streaming?.close();
    });

    it('serves /admin over https: set the target and a user; /admin and /api answers are marked no-store', async () => {
      const target = await admin('PUT', '/admin/proxy', { url: example.url });
      assert.equal(target.status, 200, target.body.toString());
      const user = await admin('PUT', '/admin/users/Alice', { password: 'alice-password-1', roles: ['ROLE_USER'] });
      assert.equal(user.status, 201, user.body.toString());
      const list = await admin('GET', '/admin/users');
      assert.deepEqual((JSON.parse(list.body.toString()) as { name: string }[]).map((u) => u.name), ['Alice', 'admin']);
      const whoami = await client.request('GET', '/api/whoami', { headers: { authorization: ALICE } });
      assert.equal(whoami.status, 200);
      for (const res of [target, list, whoami]) {
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.match(String(res.headers['strict-transport-security']), /^max-age=\d+$/);
      }
      // Public material keeps the gateway's own caching.
      assert.equal((await client.request('GET', '/.well-known/jwks.json')).headers['cache-control'], 'public, max-age=300');
    });

    it('forwards a request over https that the upstream verifies (RS512 JWT of the caller)', async () => {
      const res = await client.request('GET', '/proxy/whoami?mode=jwt', { headers: { authorization: ALICE } });
      assert.equal(res.status, 200, res.body.toString());
      assert.deepEqual(JSON.parse(res.body.toString()), { name: 'Alice', roles: ['ROLE_USER'] });
    });

    it('the upstream sees https, the public host and the real client address; spoofed X-Forwarded-* are not believed', async () => {
      const spoofed = { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.example', forwarded: 'for=6.6.6.6;proto=http;host=evil.example', 'x-real-ip': '6.6.6.6' };
      const res = await client.request('GET', '/proxy/headers', { headers: { authorization: ALICE, ...spoofed } });
      assert.equal(res.status, 200, res.body.toString());
      const seen = (JSON.parse(res.body.toString()) as { headers: Record<string, string> }).headers;
      assert.equal(seen['x-forwarded-proto'], 'https');
      assert.equal(seen['x-forwarded-host'], `${PUBLIC_HOST}:${new URL(client.origin).port}`);
      // The client, then the proxy (127.0.0.1) as the gateway saw it: nothing the client claimed.
      assert.equal(seen['x-forwarded-for'], `${CLIENT_ADDRESS}, 127.0.0.1`);
      assert.doesNotMatch(JSON.stringify(seen), /6\.6\.6\.6|evil\.example/);
      assert.ok(!JSON.stringify(seen).includes(ALICE.slice(6)), 'the basic credentials reached the upstream');
    });

    it('tunnels a WebSocket through /proxy, both ways, with the JWT and the forwarded headers', async () => {
      assert.equal((await admin('PUT', '/admin/proxy', { url: streaming.url })).status, 200);
      const ws = client.websocket('/proxy/socket?x=1', { authorization: ALICE });
      const messages: string[] = [];
      let notify = () => {};
      ws.addEventListener('message', (event) => {
        messages.push(String(event.data));
        notify();
      });
      const got = (n: number) => new Promise<void>((resolve, reject) => {
        notify = () => (messages.length >= n ? resolve() : undefined);
        ws.addEventListener('error', () => reject(new Error('websocket error')));
        notify();
      });
      await within(got(1), 5000, 'no WebSocket message through the proxy');
      ws.send('hello');
      await within(got(2), 5000, 'the echo did not come back through the proxy');
      ws.close();
      assert.deepEqual(JSON.parse(messages[0]!), { url: '/socket?x=1', sub: 'Alice', proto: 'https', for: `${CLIENT_ADDRESS}, 127.0.0.1` });
      assert.equal(messages[1], 'echo: hello');
    });

    it('streams an upload: the upstream gets the first bytes before the client has sent the rest (and more than 1 MiB passes)', async () => {
      const body = new PassThrough();
      const response = client.request('POST', '/proxy/upload', { headers: { authorization: ALICE, 'content-type': 'application/octet-stream' }, body });
      body.write(Buffer.alloc(64 * 1024, 1));
      await within(streaming.firstUploadBytes, 5000, 'the upstream saw nothing of the upload before the client finished: the proxy buffers request bodies');
      for (let i = 0; i < 48; i++) body.write(Buffer.alloc(64 * 1024, 2));
      body.end();
      const res = await response;
      assert.equal(res.status, 200, res.body.toString());
      assert.deepEqual(JSON.parse(res.body.toString()), { bytes: 49 * 64 * 1024 });
    });

    it('streams a download: the client gets the first chunk while the upstream is still writing', async () => {
      // As a browser asks for a page: nginx's gzip (Debian's default) would hold it back.
      const res = await within(client.stream('GET', '/proxy/download', { headers: { 'accept-encoding': 'gzip' } }), 5000, 'no response head before the upstream finished: the proxy buffers responses');
      assert.equal(res.status, 200);
      const first = await within(new Promise<string>((resolve) => res.body.once('data', (chunk: Buffer) => resolve(chunk.toString()))), 5000, 'no byte of the response before the upstream finished: the proxy buffers responses');
      assert.equal(first, 'first chunk\n');
      let rest = '';
      res.body.on('data', (chunk: Buffer) => (rest += chunk.toString()));
      const ended = new Promise((resolve) => res.body.once('end', resolve));
      streaming.releaseDownload();
      await ended;
      assert.equal(rest, 'the rest\n');
    });

    it('holds a download back while the client does not read it (back-pressure, nothing spooled)', async () => {
      const res = await client.stream('GET', '/proxy/large');
      assert.equal(res.status, 200);
      await new Promise((resolve) => res.body.once('data', resolve));
      res.body.pause();
      // Wait until the upstream stalls: the bytes in flight fill every buffer on the way, then stop.
      let before = -1;
      while (streaming.large.written !== before) {
        before = streaming.large.written;
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.ok(streaming.large.written < LARGE_BYTES / 4, `the upstream wrote ${streaming.large.written >> 20} MiB to a client that reads nothing: the proxy buffers responses`);
      res.body.destroy();
    });

    it('redirects plain HTTP to HTTPS', async () => {
      const answer = await rawRequest(httpPort, `GET /admin/users HTTP/1.1\r\nHost: ${PUBLIC_HOST}\r\nConnection: close\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 30[18] /);
      assert.match(answer, new RegExp(`\\r\\nLocation: https://${PUBLIC_HOST.replace(/\./g, '\\.')}(:\\d+)?/admin/users\\r\\n`, 'i'));
    });
  });
}
