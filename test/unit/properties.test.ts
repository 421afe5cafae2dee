/**
 * Property-based tests (fast-check) of the pure building blocks of the /proxy path and of the
 * admin input validation: forwarded paths never climb out of the base path, target URLs are
 * normalized idempotently, the gateway's own identity headers always win, and validation only
 * ever fails with ERR_INVALID_INPUT.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ForbiddenPathError, InvalidInputError, InvalidTargetUrlError } from '../../server/errors.js';
import { validateRoles, validateUserName } from '../../server/identity/index.js';
import { parseTargetUrl, upstreamPath, upstreamRequestHeaders, type TargetUrl } from '../../server/proxy/index.js';
import { isUnder, readingsLeavingBase } from '../helpers/path-oracle.js';

const RUNS = 500;

// ---------------------------------------------------------------------------------------------
// Helpers

const hex2 = (n: number) => n.toString(16).padStart(2, '0');





// ---------------------------------------------------------------------------------------------
// upstreamPath

const TARGETS = ['http://up.test', 'http://up.test/base', 'http://up.test/a/b', 'http://up.test/base.d'].map(parseTargetUrl);

/** Percent-encoding of a byte, in random hex case. */
const pctByte = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.boolean()).map(([n, upper]) => `%${upper ? hex2(n).toUpperCase() : hex2(n)}`);

/** Pieces rich in what could make a path climb: dots, slashes, backslashes and their (double) encodings. */
function pathPiece(withHash: boolean) {
  const plain = ['.', '.', '..', '/', '/', '\\', '%', '2', 'e', 'E', 'f', 'F', '5', 'c', 'C', '?', 'a', 'b', 'z', ...(withHash ? ['#', '#'] : [])];
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...plain) },
    { weight: 4, arbitrary: fc.constantFrom('%2e', '%2E', '%2f', '%2F', '%5c', '%5C', '%25', '%252e', '%252E', '%252f', '%255c', '%25252e', '%2525', '%23', '%u002e', '%c0%ae', '%e2%80%a4') },
    { weight: 2, arbitrary: pctByte },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 3 }).map((s) => (withHash ? s : s.replace(/#/g, '%23'))) },
  );
}

const rawProxyTarget = (withHash: boolean) => fc.array(pathPiece(withHash), { maxLength: 24 }).map((pieces) => `/proxy/${pieces.join('')}`);

/**
 * upstreamPath either refuses with ERR_FORBIDDEN_PATH or returns a path that (a) is the base path
 * or below it, (b) stays under it for every way an upstream commonly reads it (the oracle's
 * readings: as sent, decoded once or repeatedly, by segments or by a WHATWG URL parser), and (c)
 * carries the raw query byte for byte. Returns whether it was accepted.
 */
function checkUpstreamPath(target: TargetUrl, raw: string): boolean {
  let result: string;
  try {
    result = upstreamPath(target, raw);
  } catch (err) {
    assert.ok(err instanceof ForbiddenPathError, `unexpected error ${String(err)}`);
    assert.equal(err.code, 'ERR_FORBIDDEN_PATH');
    return false;
  }
  const base = target.basePath;
  const queryAt = raw.indexOf('?');
  const rawQuery = queryAt < 0 ? '' : raw.slice(queryAt);
  const resultQueryAt = result.indexOf('?');
  const resultPath = resultQueryAt < 0 ? result : result.slice(0, resultQueryAt);
  const resultQuery = resultQueryAt < 0 ? '' : result.slice(resultQueryAt);

  // (a) the base path, then `/` or the end
  assert.ok(isUnder(resultPath, base) || (base === '' && resultPath.startsWith('/')), `${raw} -> ${result}`);
  // (c) the query, byte for byte
  assert.equal(resultQuery, rawQuery);
  // (b) every reading stays under the base
  assert.deepEqual(readingsLeavingBase(resultPath, base), [], `${raw} -> ${result}`);
  // Resolved as an origin-form request target, the way an HTTP server reads it. (Resolved as a
  // URL reference, `//host/x` is a network-path reference: only possible with an empty base path.)
  const resolved = new URL(`http://up.test${result}`);
  assert.equal(resolved.origin, 'http://up.test', `${raw} -> ${result}`);
  return true;
}

describe('upstreamPath (properties)', () => {
  it('refuses with ERR_FORBIDDEN_PATH or maps under the base path, never climbing out after resolution and decoding, query byte-for-byte', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.constantFrom(...TARGETS), rawProxyTarget(false), (target, raw) => {
        if (checkUpstreamPath(target, raw)) accepted++;
        else refused++;
      }),
      { numRuns: RUNS * 4 },
    );
    // Neither outcome may be vacuous.
    assert.ok(accepted > 0 && refused > 0, `accepted ${accepted}, refused ${refused}`);
  });

  // Node's HTTP parser lets a `#` through in the request target, and the gateway forwards it as
  // received. The dot-segment check splits at `/` and `\` only, so `..#` is a plain segment for
  // it, while any URL parser at the upstream ends the path at `#`: `/base/..#` is `/`.
  it('idem with `#` in the path', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TARGETS), rawProxyTarget(true), (target, raw) => {
        checkUpstreamPath(target, raw);
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('forwards paths made of plain segments unchanged under the base path', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,7}$/).filter((s) => s !== '.' && s !== '..');
    // `#`, spaces and controls are refused anywhere in a request target (they cannot occur in a valid one).
    const query = fc.option(fc.string({ unit: 'grapheme-ascii', maxLength: 12 }).filter((q) => !/[#\u0000-\u0020\u007f]/.test(q)).map((q) => `?${q}`), { nil: '' });
    fc.assert(
      fc.property(fc.constantFrom(...TARGETS), fc.array(segment, { maxLength: 6 }), fc.boolean(), query, (target, segments, trailing, q) => {
        const rest = segments.length === 0 ? '' : `/${segments.join('/')}${trailing ? '/' : ''}`;
        const expectedPath = target.basePath + rest;
        assert.equal(upstreamPath(target, `/proxy${rest}${q}`), (expectedPath === '' ? '/' : expectedPath) + q);
      }),
      { numRuns: RUNS },
    );
  });

  // Servlet containers (Tomcat, and so Spring Boot / Atoti) drop `;parameters` from each segment
  // before normalizing: `/base/..;/x` is `/x` for them. The documented check splits at `/` and `\`
  // only, so such segments go through.
  it('refuses what would climb once `;` path parameters are removed (servlet containers)', () => {
    const piece = fc.constantFrom('.', '..', '/', ';', 'a', '%2e', '%3b', '%2f', 'jsessionid=1');
    const based = parseTargetUrl('http://up.test/base');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }).map((p) => `/proxy/${p.join('')}`), (raw) => {
        let result: string;
        try {
          result = upstreamPath(based, raw);
        } catch (err) {
          assert.equal((err as ForbiddenPathError).code, 'ERR_FORBIDDEN_PATH');
          return;
        }
        // Like Tomcat: remove `;params` from the undecoded segments, then decode (the oracle also reads it that way).
        const queryAt = result.indexOf('?');
        const stripped = (queryAt < 0 ? result : result.slice(0, queryAt)).split('/').map((seg) => seg.split(';')[0]).join('/');
        assert.deepEqual(readingsLeavingBase(stripped, '/base'), [], `${raw} -> ${result}`);
      }),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// parseTargetUrl

function checkTargetUrl(input: string): void {
  let target: TargetUrl;
  try {
    target = parseTargetUrl(input);
  } catch (err) {
    assert.ok(err instanceof InvalidTargetUrlError, `unexpected error ${String(err)} for ${JSON.stringify(input)}`);
    assert.equal(err.code, 'ERR_INVALID_TARGET_URL');
    return;
  }
  const url = new URL(target.href);
  assert.ok(url.protocol === 'http:' || url.protocol === 'https:', target.href);
  assert.match(target.href, /^https?:\/\/[^/]/);
  assert.equal(url.username, '', target.href);
  assert.equal(url.password, '', target.href);
  assert.ok(!target.href.includes('?'), `query in ${target.href}`);
  assert.ok(!target.href.includes('#'), `fragment in ${target.href}`);
  assert.equal(url.search, '');
  assert.equal(url.hash, '');
  assert.equal(target.href, target.origin + target.basePath);
  assert.ok(target.basePath === '' || (target.basePath.startsWith('/') && !target.basePath.endsWith('/')), target.basePath);
  let again: TargetUrl;
  try {
    again = parseTargetUrl(target.href);
  } catch (err) {
    assert.fail(`${JSON.stringify(input)} was accepted as ${target.href} (${target.href.length} chars), which is then refused: ${(err as Error).message}`);
  }
  assert.deepEqual({ ...again }, { ...target }, `not idempotent: ${JSON.stringify(input)}`);
}

const urlPrefix = fc.constantFrom('http://', 'https://', 'HTTP://', 'hTTps://', 'http:/', 'http:\\\\', 'ftp://', 'javascript:', 'http://user:pw@', 'http://@', '//', '');
const urlChar = fc.oneof(
  fc.constantFrom('/', '/', '.', '..', '@', ':', '?', '#', '[', ']', '%', '%2e', '%40', '\\', 'a', 'h', '0', '8', ' ', '\t', '\u0085', 'é', '\u{1f431}', 'xn--'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 4 }),
);
const urlLike = fc.tuple(urlPrefix, fc.array(urlChar, { maxLength: 20 })).map(([p, cs]) => p + cs.join(''));

describe('parseTargetUrl (properties)', () => {
  it('refuses with ERR_INVALID_TARGET_URL, or returns a clean http(s) href that parses to itself (arbitrary strings)', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), urlLike), checkTargetUrl), { numRuns: RUNS * 2 });
  });

  it('idem for generated web URLs, with user info, ports, IPs, queries and fragments', () => {
    const webUrl = fc.webUrl({
      validSchemes: ['http', 'https', 'ftp', 'ws'],
      withQueryParameters: true,
      withFragments: true,
      authoritySettings: { withIPv4: true, withIPv6: true, withIPv4Extended: true, withUserInfo: true, withPort: true },
    });
    fc.assert(fc.property(fc.oneof(webUrl, fc.webUrl()), checkTargetUrl), { numRuns: RUNS });
  });

  // The length bound is checked on the input, before the URL parser percent-encodes the path:
  // a URL under 2048 characters may normalize to an href above it, which the store then holds
  // but runtime.refresh() refuses (the proxy silently becomes disabled).
  it('idem for long paths with non-ASCII characters (bounded length)', () => {
    const longPath = fc.tuple(fc.constantFrom('a', 'é', '\u{1f431}', '"', 'a/'), fc.integer({ min: 1, max: 1020 })).map(([unit, n]) => unit.repeat(n));
    fc.assert(fc.property(longPath, (p) => checkTargetUrl(`http://up.test/${p}`)), { numRuns: 100 });
  });
});

// ---------------------------------------------------------------------------------------------
// upstreamRequestHeaders

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const CLIENT_IDENTITY = ['host', 'authorization', 'proxy-authorization', 'forwarded', 'x-real-ip', 'expect', 'via'];
const OWN = ['authorization', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-for', 'via'];
/** Claims only a proxy may make, and names with "_" (CGI/WSGI read them as "-"): never forwarded from the client. */
const CLIENT_CLAIMS = ['x-client-ip', 'true-client-ip', 'x-cluster-client-ip', 'cf-connecting-ip', 'fastly-client-ip', 'client-ip', 'x-original-url', 'x-rewrite-url', 'x-original-host', 'x-host', 'x-proxyuser-ip', 'x-remote-user', 'remote-user'];
const droppedName = (lower: string) => lower.includes('_') || lower.startsWith('x-forwarded') || CLIENT_CLAIMS.includes(lower);

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const sensitiveName = fc.mixedCase(
  fc.oneof(
    fc.constantFrom(...HOP_BY_HOP, ...CLIENT_IDENTITY, 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-anything', 'x-forwarded-', 'x-forwarded-prefix'),
    token.map((t) => `x-forwarded-${t}`),
  ),
);
const headerValue = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('Basic YWRtaW46eA==', 'Bearer x', 'close, x-secret', 'keep-alive', 'https', 'evil.test', '6.6.6.6'));

describe('upstreamRequestHeaders (properties)', () => {
  it('keeps exactly one of each gateway-owned header, with the gateway value, and no hop-by-hop or client identity header', () => {
    const headers = fc.array(fc.tuple(fc.oneof(token, sensitiveName), headerValue), { maxLength: 16 });
    const own = fc.record({ authorization: fc.string().map((s) => `Bearer ${s}`), forwardedProto: fc.constantFrom('http', 'https'), forwardedHost: fc.string(), forwardedFor: fc.string(), via: fc.string() });
    // Connection as Node gives it (the client's Connection headers joined), or something arbitrary.
    const connectionMode = fc.constantFrom('derived', 'none', 'arbitrary');
    fc.assert(
      fc.property(headers, own, connectionMode, fc.array(fc.oneof(token, sensitiveName), { maxLength: 4 }), (pairs, ownValues, mode, extra) => {
        const raw = pairs.flat();
        const clientConnection = pairs.filter(([n]) => n.toLowerCase() === 'connection').map(([, v]) => v);
        const connection = mode === 'none' ? undefined : mode === 'arbitrary' ? extra.join(', ') : clientConnection.length === 0 ? undefined : clientConnection.join(', ');
        const listed = new Set((connection ?? '').split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));

        const out = upstreamRequestHeaders(raw, connection, ownValues);
        assert.equal(out.length % 2, 0);
        const outPairs: Array<[string, string]> = [];
        for (let i = 0; i < out.length; i += 2) outPairs.push([out[i]!, out[i + 1]!]);

        const expectedOwn: Record<string, string> = {
          authorization: ownValues.authorization,
          'x-forwarded-proto': ownValues.forwardedProto,
          'x-forwarded-host': ownValues.forwardedHost,
          'x-forwarded-for': ownValues.forwardedFor,
          via: ownValues.via,
        };
        for (const name of OWN) {
          const values = outPairs.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
          assert.deepEqual(values, [expectedOwn[name]], name);
        }
        for (const [name] of outPairs) {
          const lower = name.toLowerCase();
          if (OWN.includes(lower)) continue;
          assert.ok(!HOP_BY_HOP.includes(lower) && !CLIENT_IDENTITY.includes(lower) && !droppedName(lower), `${name} reached the upstream`);
          assert.ok(!listed.has(lower), `${name} is listed in Connection but reached the upstream`);
        }
        // Everything else is kept, in order, with its value.
        const kept = pairs.filter(([n]) => {
          const lower = n.toLowerCase();
          return !HOP_BY_HOP.includes(lower) && !CLIENT_IDENTITY.includes(lower) && !droppedName(lower) && !listed.has(lower);
        });
        assert.deepEqual(outPairs.filter(([n]) => !OWN.includes(n.toLowerCase())), kept);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// validateUserName / validateRoles

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function expectInvalidInput<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    assert.ok(err instanceof InvalidInputError, `unexpected error ${String(err)}`);
    assert.equal(err.code, 'ERR_INVALID_INPUT');
    assert.equal(err.status, 400);
    return undefined;
  }
}

const nameLike = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme', maxLength: 140 }),
  fc.string({ unit: fc.constantFrom('a', ' ', ':', '\u0000', '\u007f', '\u0085', '\u2028', '\u00a0', '\t', 'é'), maxLength: 10 }),
  fc.string({ minLength: 120, maxLength: 140 }),
  fc.constantFrom('anonymousUser', 'admin', 'ROLE_ADMIN', '', ' ', 'a:b'),
);

describe('validateUserName / validateRoles (properties)', () => {
  it('validateUserName only throws InvalidInputError, and accepted names are clean', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), nameLike), (input) => {
        const name = expectInvalidInput(() => validateUserName(input));
        if (name === undefined) return;
        assert.equal(name, input);
        assert.equal(typeof name, 'string');
        assert.ok(name.length >= 1 && name.length <= 128, `length ${name.length}`);
        assert.ok(!CONTROL.test(name), `control character in ${JSON.stringify(name)}`);
        assert.ok(!name.includes(':'), JSON.stringify(name));
        assert.equal(name.trim(), name);
        assert.notEqual(name, 'anonymousUser');
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('validateRoles only throws InvalidInputError, and returns sorted unique clean strings', () => {
    const rolesLike = fc.oneof(fc.anything(), fc.array(nameLike, { maxLength: 8 }), fc.array(fc.anything(), { maxLength: 4 }), fc.array(fc.constantFrom('ROLE_A', 'ROLE_B', 'ROLE_A'), { maxLength: 70 }));
    fc.assert(
      fc.property(rolesLike, (input) => {
        const roles = expectInvalidInput(() => validateRoles(input));
        if (roles === undefined) return;
        assert.ok(Array.isArray(input));
        assert.ok(roles.length <= 64);
        assert.deepEqual(roles, [...new Set(input as string[])].sort());
        for (const role of roles) {
          assert.equal(typeof role, 'string');
          assert.ok(role.length >= 1 && role.length <= 128);
          assert.ok(!CONTROL.test(role) && !role.includes(','), JSON.stringify(role));
          assert.equal(role.trim(), role);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
