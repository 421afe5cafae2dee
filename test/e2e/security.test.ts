/** Hostile tests: each promise of SECURITY.md attacked against the real gateway. */
import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { openStore } from '../../server/store/index.js';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/process.js';
import { rawRequest } from '../helpers/raw.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function activeKey(dataDir: string): Promise<{ kid: string; privateKey: KeyObject }> {
  const store = openStore({ dataDir, create: false });
  const key = (await store.listKeys()).find((k) => k.state === 'active')!;
  await store.close();
  return { kid: key.kid, privateKey: createPrivateKey(key.privateKey!) };
}

describe('security: identity cannot be forged or leaked', () => {
  let gateway: TestGateway;
  let upstream: Recorder;
  before(async () => {
    gateway = await startGateway();
    upstream = await startRecorder();
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `${upstream.url}/base` });
    await adminJson(gateway, 'PUT', '/admin/users/alice', { password: 'alice-password-1', roles: ['ROLE_USER'] });
  });
  after(async () => {
    await upstream?.close();
    await gateway?.stop();
  });

  it('replaces every identity and provenance header the client sends; basic credentials never reach the upstream', async () => {
    const alice = basicAuth('alice', 'alice-password-1');
    const res = await fetch(`${gateway.url}/proxy/x`, {
      headers: {
        authorization: alice, 'proxy-authorization': 'Basic c3B5OnNweQ==', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil.test',
        'x-forwarded-proto': 'https', 'x-forwarded-user': 'root', forwarded: 'for=6.6.6.6;host=evil.test', 'x-real-ip': '6.6.6.6',
        x_forwarded_host: 'evil.test', x_forwarded_for: '6.6.6.6', 'x-original-url': '/admin', 'true-client-ip': '6.6.6.6', 'x-client-ip': '6.6.6.6', 'x-forwarded': 'for=6.6.6.6',
      },
    });
    assert.equal(res.status, 200);
    const seen = upstream.requests.at(-1)!;
    const all = JSON.stringify(seen.headers);
    assert.ok(!all.includes(alice.slice(6)) && !all.includes('alice-password-1'), 'basic credentials leaked');
    assert.ok(!all.includes('6.6.6.6') && !all.includes('evil.test') && !all.includes('c3B5OnNweQ'), all);
    assert.match(seen.headers.authorization!, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${gateway.port}`);
    assert.equal(seen.headers['x-forwarded-user'], undefined);
    assert.equal(seen.headers['x-original-url'], undefined);
    assert.ok(!Object.keys(seen.headers).some((name) => name.includes('_')), 'no header name with "_" reaches the upstream');
    assert.match(String(seen.headers.via), /^1\.1 jwtgate-[0-9a-f]+$/);
  });

  it('refuses TRACE (405): the upstream would echo the minted token back', async () => {
    const before = upstream.requests.length;
    const answer = await rawRequest(gateway.port, 'TRACE /proxy/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 405 /);
    assert.equal(upstream.requests.length, before);
  });

  it('rejects every bad bearer token on /api/whoami with 401', async () => {
    const { kid, privateKey } = await activeKey(gateway.dataDir);
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'RS512', typ: 'JWT', kid }) =>
      new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(privateKey);
    const good = { sub: 'alice', authorities: ['ROLE_USER'], iss: 'jwtgate', iat: now, exp: now + 60 };
    const goodToken = await sign(good);
    const ok = await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: `Bearer ${goodToken}` } });
    assert.equal(ok.status, 200, 'the control token is accepted');
    const [h, p, s] = goodToken.split('.');
    const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
    const hsHeader = b64({ alg: 'HS512', typ: 'JWT', kid });
    const cases: Record<string, string> = {
      expired: await sign({ ...good, iat: now - 600, exp: now - 300 }),
      'not yet valid (nbf)': await sign({ ...good, nbf: now + 600 }),
      'issued in the future': await sign({ ...good, iat: now + 600, exp: now + 900 }),
      'wrong iss': await sign({ ...good, iss: 'https://elsewhere.test' }),
      'unknown kid': await sign(good, { alg: 'RS512', typ: 'JWT', kid: 'not-a-published-kid' }),
      'no kid': await sign(good, { alg: 'RS512', typ: 'JWT' }),
      'alg none': `${b64({ alg: 'none', typ: 'JWT', kid })}.${p}.`,
      'HS512 signed with the public key': `${hsHeader}.${p}.${createHmac('sha512', publicPem).update(`${hsHeader}.${p}`).digest('base64url')}`,
      'tampered payload': `${h}.${b64({ ...good, authorities: ['ROLE_ADMIN', 'ROLE_USER'] })}.${s}`,
      'tampered signature': `${h}.${p}.${s!.slice(0, -4)}AAAA`,
      'no exp': await sign({ sub: 'alice', authorities: ['ROLE_USER'], iss: 'jwtgate', iat: now }),
      garbage: 'not-a-token',
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 401, name);
      assert.equal(((await res.json()) as { code: string }).code, 'ERR_INVALID_TOKEN', name);
    }
    // A valid token is still refused on /admin and /proxy.
    assert.equal((await fetch(`${gateway.url}/admin/users`, { headers: { authorization: `Bearer ${await sign({ ...good, sub: 'admin', authorities: ['ROLE_ADMIN'] })}` } })).status, 401);
    assert.equal((await fetch(`${gateway.url}/proxy/x`, { headers: { authorization: `Bearer ${goodToken}` } })).status, 401);
  });

  it('error answers carry no stack trace, internal path, hash or key', async () => {
    const bodies: string[] = [];
    const collect = async (res: Response) => bodies.push(`${res.status} ${await res.text()}`);
    await collect(await fetch(`${gateway.url}/admin/proxy`, { method: 'PUT', headers: { authorization: gateway.adminAuth, 'content-type': 'application/json' }, body: '{"url":' }));
    await collect(await fetch(`${gateway.url}/admin/proxy`, { method: 'PUT', headers: { authorization: gateway.adminAuth, 'content-type': 'application/json' }, body: JSON.stringify({ url: 'x'.repeat(100_000) }) }));
    await collect(await fetch(`${gateway.url}/admin/users/x`, { method: 'PUT', headers: { authorization: gateway.adminAuth, 'content-type': 'application/json' }, body: '[1,2' }));
    await collect(await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: 'Bearer a.b.c' } }));
    await collect(await fetch(`${gateway.url}/admin/users`, { headers: { authorization: basicAuth('admin', 'nope') } }));
    await collect(await fetch(`${gateway.url}/nope/%E0%A4%A`));
    bodies.push(await rawRequest(gateway.port, 'GET /proxy/%2e%2e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    for (const body of bodies) {
      assert.doesNotMatch(body, /\bat \S+ \(|node_modules|\/work\/|dist\/server|scrypt\$|PRIVATE KEY|Error:/, body);
    }
    const users = await adminJson(gateway, 'GET', '/admin/users');
    assert.doesNotMatch(JSON.stringify(users.body), /scrypt|passwordHash/);
  });
});

describe('security: --trust-proxy and --public-url', () => {
  it('believes X-Forwarded-* only from a trusted peer, and --public-url pins proto and host', async () => {
    const upstream = await startRecorder();
    const trusted = await startGateway({ args: ['--trust-proxy', '127.0.0.1'] });
    const pinned = await startGateway({ args: ['--public-url', 'https://gw.example.test'] });
    try {
      for (const g of [trusted, pinned]) await adminJson(g, 'PUT', '/admin/proxy', { url: upstream.url });
      const spoof = { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'front.example.test' };
      await fetch(`${trusted.url}/proxy/a`, { headers: spoof });
      let seen = upstream.requests.at(-1)!.headers;
      assert.equal(seen['x-forwarded-for'], '198.51.100.7, 127.0.0.1');
      assert.equal(seen['x-forwarded-proto'], 'https');
      assert.equal(seen['x-forwarded-host'], 'front.example.test');
      await fetch(`${pinned.url}/proxy/b`, { headers: { ...spoof, host: 'evil.test' } });
      seen = upstream.requests.at(-1)!.headers;
      assert.equal(seen['x-forwarded-for'], '127.0.0.1');
      assert.equal(seen['x-forwarded-proto'], 'https');
      assert.equal(seen['x-forwarded-host'], 'gw.example.test');
    } finally {
      await trusted.stop();
      await pinned.stop();
      await upstream.close();
    }
  });
});

describe('security: requests cannot escape the target or smuggle', () => {
  let gateway: TestGateway;
  let upstream: Recorder;
  before(async () => {
    gateway = await startGateway({ args: ['--max-body-size', '1000', '--max-header-size', '4096', '--headers-timeout', '2'] });
    upstream = await startRecorder();
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `${upstream.url}/base` });
  });
  after(async () => {
    await upstream?.close();
    await gateway?.stop();
  });

  const raw = (head: string, body = '') => rawRequest(gateway.port, `${head}\r\n\r\n${body}`);

  it('refuses climbing paths with 400, over raw TCP', async () => {
    const before = upstream.requests.length;
    for (const target of ['/proxy/..', '/proxy/../admin', '/proxy/%2e%2e/x', '/proxy/%2E%2E%2Fx', '/proxy/a/%252e%252e/%252e%252e/x', '/proxy/a%2f..%2f..%2fx', '/proxy/..%5cx', '/proxy/a\\..\\..\\x', `http://127.0.0.1:${gateway.port}/proxy/x`, '*']) {
      const answer = await raw(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close`);
      assert.match(answer, /^HTTP\/1\.1 400 /, target);
    }
    assert.equal(upstream.requests.length, before, 'nothing reached the upstream');
  });

  it('refuses Content-Length with Transfer-Encoding, duplicate Content-Length and invalid header bytes (400), never forwarding them', async () => {
    const before = upstream.requests.length;
    const attacks = [
      ['POST /proxy/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close', '0\r\n\r\n'],
      ['POST /proxy/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\nConnection: close', 'hello!'],
      ['POST /proxy/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\nConnection: close', '0\r\n\r\n'],
      ['GET /proxy/x HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\nConnection: close', ''],
      ['GET /proxy/x HTTP/1.1\r\nHost: x\r\nX Bad: a\r\nConnection: close', ''],
      ['GET /proxy/x HTTP/1.1\r\nHost: x\r\n X-Folded: a\r\nConnection: close', ''],
    ] as const;
    for (const [head, body] of attacks) {
      const answer = await raw(head, body);
      assert.match(answer, /^HTTP\/1\.1 400 /, JSON.stringify(head));
    }
    assert.equal(upstream.requests.length, before, 'nothing reached the upstream');
  });

  it('bounds bodies (413) and headers (431)', async () => {
    const declared = await fetch(`${gateway.url}/proxy/x`, { method: 'POST', body: 'x'.repeat(1001) });
    assert.equal(declared.status, 413);
    assert.equal(declared.headers.get('connection'), 'close', 'the unread rest of the body must not keep the connection');
    const small = await fetch(`${gateway.url}/proxy/x`, { method: 'POST', body: 'x'.repeat(1000) });
    assert.equal(small.status, 200);
    const chunked = await raw('POST /proxy/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close', `7d0\r\n${'y'.repeat(2000)}\r\n0\r\n\r\n`);
    assert.match(chunked, /^HTTP\/1\.1 413 /);
    const bigHeader = await raw(`GET /proxy/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'z'.repeat(5000)}\r\nConnection: close`);
    assert.match(bigHeader, /^HTTP\/1\.1 431 /);
  });

  it('a client that leaves cancels its upstream request at once (not after --upstream-timeout)', async () => {
    let upstreamClosed = 0;
    const hanging = await startRecorder();
    const http = await import('node:http');
    const slow = http.createServer((req) => req.on('close', () => upstreamClosed++));
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const port = (slow.address() as import('node:net').AddressInfo).port;
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: `http://127.0.0.1:${port}` });
      const clients = Array.from({ length: 5 }, () => {
        const controller = new AbortController();
        const done = fetch(`${gateway.url}/proxy/slow`, { signal: controller.signal }).catch(() => undefined);
        setTimeout(() => controller.abort(), 200);
        return done;
      });
      await Promise.all(clients);
      for (let i = 0; i < 20 && upstreamClosed < 5; i++) await sleep(50);
      assert.equal(upstreamClosed, 5);
    } finally {
      slow.closeAllConnections();
      slow.close();
      await hanging.close();
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: `${upstream.url}/base` });
    }
  });

  it('a slow-loris client is cut off after --headers-timeout while others are served', async () => {
    const net = await import('node:net');
    const started = Date.now();
    const socket = net.connect(gateway.port, '127.0.0.1');
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
    socket.on('error', () => {});
    socket.write('GET /proxy/x HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => socket.write('X-Drip: 1\r\n'), 300);
    await sleep(500);
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200, 'others are served meanwhile');
    const elapsed = await closed;
    clearInterval(drip);
    assert.ok(elapsed < 5000, `slow client held the connection ${elapsed} ms`);
  });

  it('refuses a target pointing at the gateway itself (400) and a looping request (508)', async () => {
    for (const url of [`http://127.0.0.1:${gateway.port}`, `http://localhost:${gateway.port}/base`]) {
      const res = await adminJson(gateway, 'PUT', '/admin/proxy', { url });
      assert.equal(res.status, 400, url);
      assert.equal((res.body as { code: string }).code, 'ERR_INVALID_TARGET_URL');
    }
    // The CLI cannot know the server's port: the Via header catches the loop at run time.
    assert.equal((await runCli(['proxy', 'set', `http://127.0.0.1:${gateway.port}/proxy`, '--data-dir', gateway.dataDir])).code, 0);
    let res: Response | undefined;
    for (let i = 0; i < 20; i++) {
      res = await fetch(`${gateway.url}/proxy/x`);
      if (res.status !== 200) break;
      await sleep(100);
    }
    assert.equal(res!.status, 508);
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `${upstream.url}/base` });
  });

  it('refuses every spelling of its own address as a target: IPv4-mapped, short and integer IPv4, unspecified, host names', async () => {
    const port = gateway.port;
    for (const url of [`http://[::ffff:127.0.0.1]:${port}`, `http://127.1:${port}`, `http://0.0.0.0:${port}`, `http://2130706433:${port}/api`, `http://0x7f000001:${port}`, `http://0177.0.0.1:${port}`, `http://[::]:${port}`, `http://[::ffff:7f00:1]:${port}`, `http://[::ffff:0.0.0.0]:${port}`, `http://LOCALHOST:${port}`, `http://foo.localhost:${port}`]) {
      const res = await adminJson(gateway, 'PUT', '/admin/proxy', { url });
      assert.equal(res.status, 400, url);
      assert.equal((res.body as { code: string }).code, 'ERR_INVALID_TARGET_URL', url);
    }
    // The gateway listens on 127.0.0.1 only: the same port at another address is another server.
    for (const url of [`http://127.0.0.1:${port + 1 === 65536 ? 1 : port + 1}`, `http://127.0.0.2:${port}`, `http://[::1]:${port}`]) {
      assert.equal((await adminJson(gateway, 'PUT', '/admin/proxy', { url })).status, 200, url);
    }
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: `${upstream.url}/base` });
  });

  it('a request carrying this gateway\'s Via is refused on every route (508), so a target on its own /api loops nowhere', async () => {
    const { body } = await adminJson(gateway, 'GET', '/admin/proxy');
    assert.ok(body);
    const via = String(upstream.requests.at(-1)?.headers.via ?? (await (async () => {
      await fetch(`${gateway.url}/proxy/x`);
      return upstream.requests.at(-1)!.headers.via;
    })()));
    for (const path of ['/api/whoami', '/admin/users', '/healthz', '/.well-known/jwks.json']) {
      const res = await fetch(`${gateway.url}${path}`, { headers: { via, authorization: gateway.adminAuth } });
      assert.equal(res.status, 508, path);
    }
  });

  it('refuses method overrides naming TRACE or TRACK (405) and forwards the others', async () => {
    const before = upstream.requests.length;
    for (const [name, value] of [['x-http-method-override', 'TRACE'], ['X-HTTP-Method', 'trace'], ['x-method-override', 'Track'], ['x-http-method-override', 'GET, TRACE']]) {
      const res = await fetch(`${gateway.url}/proxy/x`, { method: 'POST', headers: { [name]: value } });
      assert.equal(res.status, 405, `${name}: ${value}`);
    }
    for (const query of ['_method=TRACE', '_METHOD=trace', '%5fmethod=TRACE', '_method=%54RACE', 'a=1&_method=track', 'a=1;_method=TRACE', '_method[]=TRACE', '_method=TRACE%00']) {
      assert.equal((await fetch(`${gateway.url}/proxy/x?${query}`, { method: 'POST' })).status, 405, query);
    }
    assert.equal(upstream.requests.length, before, 'none reached the upstream');
    assert.equal((await fetch(`${gateway.url}/proxy/x`, { method: 'POST', headers: { 'x-http-method-override': 'PATCH' } })).status, 200);
    assert.equal(upstream.requests.at(-1)!.headers['x-http-method-override'], 'PATCH');
    assert.equal((await fetch(`${gateway.url}/proxy/x?_method=DELETE&trace=1`)).status, 200);
  });

  it('refuses, over raw TCP, decoded characters that URL parsers drop or cut at (the review\'s paths); none reaches the upstream', async () => {
    const before = upstream.requests.length;
    for (const path of ['/proxy/..%09/secret', '/proxy/.%09./secret', '/proxy/%2e%2e%0a/secret', '/proxy/..%3f/secret', '/proxy/..%23/secret', '/proxy/..%0d%0a/secret', '/proxy/..%00/secret', '/proxy/%2e%2e%2509/secret']) {
      const answer = await rawRequest(gateway.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 400 /, path);
      assert.ok(answer.includes('base path'), answer);
    }
    assert.equal(upstream.requests.length, before);
  });
});

describe('security: insecure mode stays local', () => {
  it('refuses --insecure on a non-loopback host without --allow-insecure-remote (exit 2)', async () => {
    const res = await runCli(['serve', '--insecure', '--host', '0.0.0.0', '--port', '0', '--data-dir', path.join(fs.mkdtempSync('/tmp/jg-'), 'd')]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /allow-insecure-remote/);
  });
});
