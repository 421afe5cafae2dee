/**
 * Bounded fuzzing (fast-check) of the real gateway process, with a recording upstream in the
 * test process: hostile raw request paths, hostile header lists, and arbitrary admin API
 * payloads. The gateway must never answer 5xx nor crash, and the upstream must only ever see
 * paths under the base path and the gateway's own identity headers.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ADMIN_PASSWORD, adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { isUnder, readingsLeavingBase } from '../helpers/path-oracle.js';
import { rawRequest } from '../helpers/raw.js';

// ---------------------------------------------------------------------------------------------
// A recording upstream

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
}

interface Recorder {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

async function startRecorder(): Promise<Recorder> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: [...req.rawHeaders] });
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP


function statusOf(response: string): number {
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(response);
  assert.ok(m, `not an HTTP response: ${JSON.stringify(response.slice(0, 200))}`);
  return Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// Path checks




const BASE = '/base';

/** What the upstream received stays under the base path for every reading of the oracle (as sent, decoded, by segments, by a URL parser). */
function assertUnderBase(url: string): void {
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  assert.ok(isUnder(path, BASE), `upstream received ${JSON.stringify(url)}`);
  assert.deepEqual(readingsLeavingBase(path, BASE), [], `upstream received ${JSON.stringify(url)}`);
}

const VISIBLE = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** Raw request targets under /proxy from a hostile alphabet: visible ASCII and percent-encodings only. */
function hostilePath(withHash: boolean) {
  const piece = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('.', '.', '..', '/', '/', '\\', '%', '2', 'e', 'E', 'f', 'F', '5', 'c', 'C', '?', ';', 'a', 'b', ...(withHash ? ['#', '#'] : [])) },
    { weight: 4, arbitrary: fc.constantFrom('%2e', '%2E', '%2f', '%2F', '%5c', '%5C', '%25', '%252e', '%252E', '%252f', '%255c', '%25252e', '%23', '%3b', '%00', '%c0%ae', '%e2%80%a4') },
    { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.boolean()).map(([n, up]) => `%${up ? hex2(n).toUpperCase() : hex2(n)}`) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 2 }).map((s) => encodeURIComponent(s)) },
    { weight: 1, arbitrary: VISIBLE.filter((c) => withHash || c !== '#') },
  );
  return fc.tuple(fc.constantFrom('/', '/', '/', '?', ''), fc.array(piece, { maxLength: 20 })).map(([first, pieces]) => `/proxy${first}${pieces.join('')}`);
}

// ---------------------------------------------------------------------------------------------
// Headers

const HOP_BY_HOP = ['keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade'];
const IDENTITY = ['proxy-authorization', 'forwarded', 'x-real-ip', 'via', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'];
/** Names that would change the framing of the request, or that this test sets itself. */
const FRAMING = ['host', 'connection', 'content-length', 'transfer-encoding', 'expect', 'authorization'];
const RESERVED = new Set([...HOP_BY_HOP, ...IDENTITY, ...FRAMING]);

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,16}$/);
const CLIENT_CLAIMS = new Set(['x-client-ip', 'true-client-ip', 'x-cluster-client-ip', 'cf-connecting-ip', 'fastly-client-ip', 'client-ip', 'x-original-url', 'x-rewrite-url', 'x-original-host', 'x-host', 'x-proxyuser-ip', 'x-remote-user', 'remote-user']);
/** Names the gateway never forwards from a client: `_` (CGI/WSGI read it as `-`), X-Forwarded*, client-IP/URL claims. */
const droppedName = (lower: string) => lower.includes('_') || lower.startsWith('x-forwarded') || CLIENT_CLAIMS.has(lower);
const plainName = token.filter((t) => !RESERVED.has(t.toLowerCase()) && !droppedName(t.toLowerCase()));
/** Visible ASCII words separated by single spaces (no leading/trailing white space: Node trims it). */
const headerValue = fc.array(fc.string({ unit: VISIBLE, minLength: 1, maxLength: 12 }), { maxLength: 3 }).map((words) => words.join(' '));
const base64 = (s: string) => Buffer.from(s).toString('base64');
const authValue = fc.oneof(
  fc.constant(''),
  fc.tuple(fc.string({ unit: VISIBLE, maxLength: 10 }), fc.string({ unit: VISIBLE, maxLength: 16 })).map(([n, p]) => `Basic ${base64(`${n}:${p}`)}`),
  fc.constant(basicAuth('admin', ADMIN_PASSWORD)),
  fc.mixedCase(fc.constant('basic')).map((b) => `${b} ${base64(`admin:${ADMIN_PASSWORD}`)}`),
  fc.string({ unit: VISIBLE, maxLength: 20 }).map((t) => `Bearer ${t}`),
  fc.tuple(token, fc.string({ unit: VISIBLE, maxLength: 20 })).map(([scheme, t]) => `${scheme} ${t}`),
  headerValue,
);
const header = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(plainName, headerValue) },
  { weight: 3, arbitrary: fc.tuple(fc.mixedCase(fc.constantFrom(...HOP_BY_HOP, ...IDENTITY, 'x-forwarded-prefix', 'x-forwarded-anything')), headerValue) },
  { weight: 1, arbitrary: fc.tuple(token.map((t) => `X-Forwarded-${t}`), headerValue) },
  { weight: 3, arbitrary: fc.tuple(fc.mixedCase(fc.constant('authorization')), authValue) },
);

const count = (raw: readonly string[], name: string) => {
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) values.push(raw[i + 1]!);
  return values;
};

// ---------------------------------------------------------------------------------------------
// Admin payloads

const ADMIN_STATUSES = new Set([200, 201, 400, 404, 409, 413, 415]);

/** A JSON text for any value (what JSON.stringify cannot serialize is sent as its String()). */
function jsonText(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    if (text !== undefined) return text;
  } catch {
    // fall through
  }
  return String(value);
}

const anyBody = fc.oneof(
  { weight: 3, arbitrary: fc.anything().map(jsonText) },
  { weight: 2, arbitrary: fc.json() },
  { weight: 2, arbitrary: fc.jsonValue().map(jsonText) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  // Above the 64 kB limit of the admin API.
  { weight: 1, arbitrary: fc.constant(`{"url":"${'a'.repeat(70_000)}"}`) },
);

// ---------------------------------------------------------------------------------------------

describe('fuzzing the real gateway', () => {
  let gateway: TestGateway;
  let upstream: Recorder;
  let targetUrl: string;

  before(async () => {
    [gateway, upstream] = await Promise.all([startGateway(), startRecorder()]);
    targetUrl = `${upstream.url}${BASE}`;
    const res = await adminJson(gateway, 'PUT', '/admin/proxy', { url: targetUrl });
    assert.equal(res.status, 200);
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  async function assertAlive(): Promise<void> {
    assert.equal(gateway.proc.exitCode, null, 'the gateway exited');
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
  }

  async function sendPath(path: string): Promise<{ status: number; seen: Seen[] }> {
    upstream.seen.length = 0;
    const response = await rawRequest(gateway.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    return { status: statusOf(response), seen: [...upstream.seen] };
  }

  it('raw request paths: never 5xx, and the upstream only sees paths under the base path, as received', async (t) => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(hostilePath(false), async (path) => {
        const { status, seen } = await sendPath(path);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        assert.ok(status < 500, `${path} -> ${status}`);
        for (const request of seen) assertUnderBase(request.url);
        if (status === 200) {
          assert.equal(seen.length, 1, path);
          assert.equal(seen[0]!.method, 'GET');
          assert.equal(seen[0]!.url, BASE + path.slice('/proxy'.length), 'the path and query are forwarded as received');
        } else {
          assert.equal(seen.length, 0, `${path} -> ${status}, yet the upstream saw ${JSON.stringify(seen.map((s) => s.url))}`);
        }
      }),
      { numRuns: 400 },
    );
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, `statuses: ${JSON.stringify([...statuses])}`);
    await assertAlive();
  });

  it('raw request paths with `#`: the upstream only sees paths under the base path', async () => {
    const { status, seen } = await sendPath('/proxy/..#');
    assert.ok(status < 500);
    for (const request of seen) assertUnderBase(request.url);
    await fc.assert(
      fc.asyncProperty(hostilePath(true), async (path) => {
        const { status: s, seen: received } = await sendPath(path);
        assert.ok(s < 500, `${path} -> ${s}`);
        for (const request of received) assertUnderBase(request.url);
      }),
      { numRuns: 200 },
    );
    await assertAlive();
  });

  it('header names and values: never 5xx, 401 for non-Basic schemes, and the upstream only sees the gateway identity headers', async (t) => {
    // From another loopback address: the failed-login throttle (per client address) must not
    // lock the admin API tests out.
    const client = '127.0.0.2';
    const ownHost = `127.0.0.1:${gateway.port}`;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(header, { maxLength: 10 }), async (headers) => {
        upstream.seen.length = 0;
        const head = headers.map(([n, v]) => `${n}: ${v}\r\n`).join('');
        const response = await rawRequest(gateway.port, `GET /proxy/x HTTP/1.1\r\nHost: ${ownHost}\r\n${head}Connection: close\r\n\r\n`, { localAddress: client });
        const status = statusOf(response);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const sent = headers.flat();
        assert.ok(status < 500, `${JSON.stringify(headers)} -> ${status}`);

        // Node keeps the first Authorization header.
        const authorization = count(sent, 'authorization')[0];
        const scheme = authorization?.split(' ')[0]!.toLowerCase();
        if (authorization === undefined || authorization === '') assert.equal(status, 200, `${JSON.stringify(headers)}`);
        else if (scheme !== 'basic') assert.equal(status, 401, `${JSON.stringify(headers)}`);
        else assert.ok([200, 401, 429].includes(status), `${JSON.stringify(headers)} -> ${status}`);

        if (status !== 200) {
          assert.equal(upstream.seen.length, 0);
          return;
        }
        assert.equal(upstream.seen.length, 1);
        const raw = upstream.seen[0]!.rawHeaders;
        const upstreamAuthorization = count(raw, 'authorization');
        assert.equal(upstreamAuthorization.length, 1, `authorization: ${JSON.stringify(upstreamAuthorization)}`);
        assert.match(upstreamAuthorization[0]!, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
        assert.deepEqual(count(raw, 'x-forwarded-proto'), ['http']);
        assert.deepEqual(count(raw, 'x-forwarded-host'), [ownHost]);
        assert.deepEqual(count(raw, 'x-forwarded-for'), [client]);
        const via = count(raw, 'via');
        assert.equal(via.length, 1, `via: ${JSON.stringify(via)}`);
        const clientVia = count(sent, 'via');
        assert.match(via[0]!, /(^|, )1\.1 jwtgate-\S+$/);
        assert.equal(via[0]!.replace(/(^|, )1\.1 jwtgate-\S+$/, ''), clientVia.join(', '), 'the client Via hops, then ours');
        for (let i = 0; i < raw.length; i += 2) {
          const name = raw[i]!.toLowerCase();
          assert.ok(!['proxy-authorization', 'forwarded', 'x-real-ip', ...HOP_BY_HOP].includes(name), `${name} reached the upstream`);
          if (name.startsWith('x-forwarded-')) assert.ok(['x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-for'].includes(name), `${name} reached the upstream`);
        }
        // Every other header is passed through, in order, with its value.
        const plain = new Set(headers.map(([n]) => n.toLowerCase()).filter((n) => !RESERVED.has(n) && !droppedName(n)));
        const pick = (list: readonly string[]) => {
          const out: string[] = [];
          for (let i = 0; i < list.length; i += 2) if (plain.has(list[i]!.toLowerCase())) out.push(list[i]!.toLowerCase(), list[i + 1]!);
          return out;
        };
        assert.deepEqual(pick(raw), pick(sent));
      }),
      { numRuns: 200 },
    );
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(401) ?? 0) > 0, `statuses: ${JSON.stringify([...statuses])}`);
    await assertAlive();
  });

  it('admin API payloads: never 5xx, and the admin user survives', async (t) => {
    const put = async (path: string, body: string) => {
      const res = await fetch(gateway.url + path, { method: 'PUT', headers: { authorization: gateway.adminAuth, 'content-type': 'application/json' }, body });
      const text = await res.text();
      return { status: res.status, text };
    };
    const checkError = (status: number, text: string, what: string) => {
      assert.ok(ADMIN_STATUSES.has(status), `${what} -> ${status} ${text.slice(0, 200)}`);
      if (status >= 400) assert.match((JSON.parse(text) as { code: string }).code, /^ERR_[A-Z_]+$/, `${what} -> ${text.slice(0, 200)}`);
    };
    const statuses = new Map<number, number>();
    const tally = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);

    // PUT /admin/proxy
    const proxyBody = fc.oneof(
      anyBody,
      fc.record({ url: fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true, authoritySettings: { withPort: true, withUserInfo: true, withIPv4: true, withIPv6: true } }), fc.string(), fc.constant(null), fc.anything()) }, { requiredKeys: [] }).map(jsonText),
    );
    await fc.assert(
      fc.asyncProperty(proxyBody, async (body) => {
        const { status, text } = await put('/admin/proxy', body);
        tally(status);
        checkError(status, text, `PUT /admin/proxy ${body.slice(0, 200)}`);
        if (status === 200) {
          const { url } = JSON.parse(text) as { url: unknown };
          assert.ok(url === null || (typeof url === 'string' && /^https?:\/\//.test(url)), text);
        }
      }),
      { numRuns: 150 },
    );

    // PUT /admin/users/{name}
    const userName = fc
      .oneof(
        fc.string({ maxLength: 16 }),
        fc.string({ unit: 'binary', maxLength: 16 }),
        fc.string({ unit: 'grapheme', maxLength: 8 }),
        fc.string({ minLength: 125, maxLength: 132 }),
        fc.constantFrom('anonymousUser', 'ROLE_ADMIN', ' bob', 'a:b', 'a/b', '.', '..', '', 'x\u0000y', 'x\u2028y', '%', '%zz'),
      )
      .filter((n) => n !== 'admin');
    const segment = fc.oneof(
      { weight: 4, arbitrary: userName.map((n) => encodeURIComponent(n)) },
      // Undecodable or unusual raw segments.
      { weight: 1, arbitrary: fc.array(fc.constantFrom('%', '%zz', '%e0%a4%a', '%c0%ae', '%2f', '%00', 'a', ';', '~'), { minLength: 1, maxLength: 4 }).map((p) => p.join('')) },
    );
    const password = fc.oneof(fc.string({ minLength: 12, maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 16 }), fc.anything());
    const roles = fc.oneof(fc.array(fc.oneof(fc.constantFrom('ROLE_USER', 'ROLE_ADMIN', 'ROLE_X'), fc.string({ maxLength: 8 })), { maxLength: 4 }), fc.anything());
    const userBody = fc.oneof(
      { weight: 2, arbitrary: anyBody },
      { weight: 3, arbitrary: fc.record({ password, roles }, { requiredKeys: [] }).map(jsonText) },
    );
    await fc.assert(
      fc.asyncProperty(segment, userBody, async (name, body) => {
        let status: number;
        let text: string;
        try {
          ({ status, text } = await put(`/admin/users/${name}`, body));
        } catch (err) {
          // fetch itself refuses some URLs (e.g. `..` would climb out of /admin/users/).
          if (err instanceof TypeError && /Invalid URL/i.test(String(err))) return;
          throw err;
        }
        tally(status);
        checkError(status, text, `PUT /admin/users/${name} ${body.slice(0, 200)}`);
        if (status === 200 || status === 201) {
          const user = JSON.parse(text) as { name: string; roles: string[] };
          assert.equal(user.name, decodeURIComponent(name));
          assert.notEqual(user.name, 'admin');
        }
      }),
      { numRuns: 150 },
    );
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, `statuses: ${JSON.stringify([...statuses])}`);

    // The admin survives, and the proxy is set back.
    const users = await adminJson(gateway, 'GET', '/admin/users');
    assert.equal(users.status, 200);
    const admin = (users.body as Array<{ name: string; roles: string[] }>).find((u) => u.name === 'admin');
    assert.ok(admin?.roles.includes('ROLE_ADMIN'), JSON.stringify(admin));
    assert.deepEqual(await adminJson(gateway, 'PUT', '/admin/proxy', { url: targetUrl }).then((r) => [r.status, r.body]), [200, { url: targetUrl }]);
    upstream.seen.length = 0;
    assert.equal((await fetch(`${gateway.url}/proxy/after`)).status, 200);
    assert.deepEqual(upstream.seen.map((s) => s.url), [`${BASE}/after`]);
    await assertAlive();
  });
});
