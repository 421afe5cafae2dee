import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeNextPath, cookieValues, withoutGatewayCookies } from '../../server/sessions/index.js';
import { clearPlantedCookieHeaders, decodeCookieValue, encodeCookieValue, newSessionId, sessionIdHash } from '../../server/sessions/cookie.js';
import { isCrossSite } from '../../server/policy/index.js';

describe('safeNextPath', () => {
  it('keeps same-origin paths with their query and fragment', () => {
    for (const path of ['/', '/proxy/x', '/proxy/x?y=1&z=%2F', '/a#frag', '/proxy/%2F%2Fevil']) assert.equal(safeNextPath(path), path);
    assert.equal(safeNextPath('/a/./b/../c'), '/a/c', 'as the browser would resolve it');
  });
  it('sends anything a browser could read as another origin to /', () => {
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'HTTP://evil', 'javascript:alert(1)', '\\\\evil', ' /x', '/\t/evil', '/x\r\nSet-Cookie: a=b', '', 'x', undefined, 42, '/'.repeat(3000), '///evil', '/.//evil']) {
      const result = safeNextPath(bad);
      assert.ok(result === '/' || (result.startsWith('/') && !result.startsWith('//')), `${JSON.stringify(bad)} -> ${result}`);
      assert.equal(new URL(result, 'http://gw.test').origin, 'http://gw.test');
    }
  });
});

describe('session cookie codec', () => {
  const secrets = new Map([['k1', { id: 'k1', key: Buffer.alloc(32, 1) }], ['k2', { id: 'k2', key: Buffer.alloc(32, 2) }]]);
  it('signs with a secret and verifies with any known one; a changed id, signature or unknown secret fails', () => {
    const id = newSessionId();
    assert.match(id, /^[\w-]{43}$/, '256 bits');
    const value = encodeCookieValue(secrets.get('k1')!, id);
    assert.equal(decodeCookieValue(value, secrets), id);
    assert.equal(decodeCookieValue(value, new Map([['k2', secrets.get('k2')!]])), null, 'its secret retired');
    const [sid, body, sig] = value.split('.') as [string, string, string];
    assert.equal(decodeCookieValue(`${sid}.${newSessionId()}.${sig}`, secrets), null);
    assert.equal(decodeCookieValue(`${sid}.${body}.${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`, secrets), null);
    assert.equal(decodeCookieValue(`k2.${body}.${sig}`, secrets), null, 'another secret id');
    assert.notEqual(sessionIdHash(id), id);
  });
  it('reads every value of the cookie; strips the gateway\'s cookies and keeps the others as they came', () => {
    assert.deepEqual(cookieValues('a=1; jwtgate_session=x; b=2; jwtgate_session=y', 'jwtgate_session'), ['x', 'y']);
    assert.deepEqual(cookieValues(['a=1', 'jwtgate_session=z'], 'jwtgate_session'), ['z']);
    assert.deepEqual(cookieValues('xjwtgate_session=1', 'jwtgate_session'), []);
    assert.equal(withoutGatewayCookies('a=1; jwtgate_session=x;b=2'), 'a=1;b=2');
    assert.equal(withoutGatewayCookies('__Host-jwtgate_session=x; a="q; r"'), 'a="q; r"', 'the rest as it came, even a quoted ;');
    assert.equal(withoutGatewayCookies('jwtgate_session=x'), null);
    assert.equal(withoutGatewayCookies('theme=dark'), 'theme=dark');
  });
});

describe('clearPlantedCookieHeaders', () => {
  it('over http: Path=/ and the request path\'s prefixes, host-only and for each parent domain', () => {
    const lines = clearPlantedCookieHeaders('jwtgate_session', false, { host: 'gw.corp.example.com:8080', path: '/proxy/app/x?y=/z' });
    const scopes = lines.map((line) => `${/Domain=([^;]+)/.exec(line)?.[1] ?? '(host)'} ${/Path=([^;]+)/.exec(line)![1]}`);
    const paths = ['/', '/proxy', '/proxy/app', '/proxy/app/x'];
    assert.deepEqual(scopes, ['(host)', 'corp.example.com', 'example.com'].flatMap((d) => paths.map((p) => `${d} ${p}`)));
    for (const line of lines) assert.match(line, /^jwtgate_session=; Path=[^;]+(; Domain=[^;]+)?; HttpOnly; SameSite=Lax; Max-Age=0$/);
    assert.equal(lines[0], 'jwtgate_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0', 'the plain clear comes first');
  });
  it('is bounded, and never writes what a Path or Domain attribute cannot hold', () => {
    assert.equal(clearPlantedCookieHeaders('jwtgate_session', false, { host: 'a.b.c.d.e.example.com', path: '/1/2/3/4/5/6' }).length, 4 * 5);
    const odd = clearPlantedCookieHeaders('jwtgate_session', false, { host: 'gw;evil=1', path: '/proxy/a;b/c' });
    assert.deepEqual(odd.map((l) => /Path=([^;]+)/.exec(l)![1]), ['/', '/proxy'], 'stops at a segment with ";"; a host that is no host name gets no Domain');
    for (const host of ['127.0.0.1:8080', '[::1]:8080', 'localhost', undefined]) {
      assert.ok(clearPlantedCookieHeaders('jwtgate_session', false, { host, path: '/proxy' }).every((l) => !l.includes('Domain=')), String(host));
    }
  });
  it('with the __Host- prefix there is one place: Path=/, host-only, Secure', () => {
    assert.deepEqual(clearPlantedCookieHeaders('__Host-jwtgate_session', true, { host: 'gw.example.com', path: '/proxy/app' }), ['__Host-jwtgate_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure']);
  });
});

describe('isCrossSite', () => {
  const own = 'https://gw.example';
  it('compares the Origin exactly, else reads Sec-Fetch-Site', () => {
    assert.equal(isCrossSite({ origin: own }, own, new Set()), false);
    assert.equal(isCrossSite({ origin: 'https://gw.example:443' }, own, new Set()), true, 'exact origins only');
    assert.equal(isCrossSite({ origin: 'null' }, own, new Set()), true);
    assert.equal(isCrossSite({ origin: 'https://app.example' }, own, new Set(['https://app.example'])), false);
    assert.equal(isCrossSite({ 'sec-fetch-site': 'cross-site' }, own, new Set()), true);
    assert.equal(isCrossSite({ 'sec-fetch-site': 'same-site' }, own, new Set()), true);
    assert.equal(isCrossSite({ 'sec-fetch-site': 'same-origin' }, own, new Set()), false);
    assert.equal(isCrossSite({}, own, new Set()), false, 'no browser signal: not a browser driven by another site');
  });
});
