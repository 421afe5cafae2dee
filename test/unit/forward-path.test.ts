import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isProxyPath, parseTargetUrl, upstreamPath } from '../../server/proxy/index.js';

describe('isProxyPath', () => {
  it('matches /proxy, /proxy/... and /proxy?... only', () => {
    for (const yes of ['/proxy', '/proxy/', '/proxy/a/b', '/proxy?x=1']) assert.equal(isProxyPath(yes), true, yes);
    for (const no of ['/', '/proxyfoo', '/proxy-x', '/api/proxy', '/PROXY', 'http://h/proxy']) assert.equal(isProxyPath(no), false, no);
  });
});

describe('upstreamPath', () => {
  const root = parseTargetUrl('http://up.test');
  const based = parseTargetUrl('http://up.test/base');

  it('maps the rest of the path under the base path and keeps the query byte-for-byte', () => {
    assert.equal(upstreamPath(root, '/proxy'), '/');
    assert.equal(upstreamPath(root, '/proxy/'), '/');
    assert.equal(upstreamPath(root, '/proxy/some/path?foo=bar'), '/some/path?foo=bar');
    assert.equal(upstreamPath(root, '/proxy?x=%20y&&z=%zz'), '/?x=%20y&&z=%zz');
    assert.equal(upstreamPath(based, '/proxy'), '/base');
    assert.equal(upstreamPath(based, '/proxy/a%20b/c?q=../x'), '/base/a%20b/c?q=../x');
    assert.equal(upstreamPath(based, '/proxy/a..b/.c/..d'), '/base/a..b/.c/..d');
  });

  it('forwards dot segments that stay under the base path for every reading', () => {
    assert.equal(upstreamPath(based, '/proxy/a/./b'), '/base/a/./b');
    assert.equal(upstreamPath(based, '/proxy/a/b/../c'), '/base/a/b/../c');
    assert.equal(upstreamPath(based, '/proxy/a/%2e%2e/c'), '/base/a/%2e%2e/c');
    assert.equal(upstreamPath(based, '/proxy/.;jsessionid=1/x'), '/base/.;jsessionid=1/x');
    assert.equal(upstreamPath(based, '/proxy/search%3Fq/x.json'), '/base/search%3Fq/x.json');
    assert.equal(upstreamPath(based, '/proxy/users/CORP%5Cjdoe'), '/base/users/CORP%5Cjdoe', 'an encoded backslash is data');
    const doubled = parseTargetUrl('http://up.test/a//b');
    assert.equal(upstreamPath(doubled, '/proxy/x/../y'), '/a//b/x/../y', 'a base with // is counted as the readings count it');
  });

  for (const climb of ['/proxy/%u002e%2e/x', '/proxy/%u002e%u002e/x', '/proxy/a%u002f..%u002f..%u002fx']) {
    it(`refuses ${climb} (%uXXXX, as JavaScript's unescape and ASP.NET read it)`, () => {
      assert.throws(() => upstreamPath(based, climb), { code: 'ERR_FORBIDDEN_PATH' });
    });
  }

  for (const climb of ['/proxy/..', '/proxy/../admin', '/proxy/a/../../x', '/proxy/%2e%2e/x', '/proxy/%2E%2e/x', '/proxy/.%2e/x', '/proxy/%252e%252e/x', '/proxy/a%2f..%2f..%2fx', '/proxy/a\\..\\b', '/proxy/a%5c..%5c..%5cb', '/proxy/%25252e%25252e/x', '/proxy/../base/x']) {
    it(`refuses ${climb}`, () => {
      assert.throws(() => upstreamPath(based, climb), { code: 'ERR_FORBIDDEN_PATH', status: 400 });
    });
  }
});

describe('upstreamPath refuses what upstream parsers would read differently', () => {
  const based = parseTargetUrl('http://up.test/base');
  for (const raw of ['/proxy/..#', '/proxy/%2e%2e#/admin', '/proxy/x?q=1#frag', '/proxy/..;/x', '/proxy/%2e%2e;x/y']) {
    it(`refuses ${raw}`, () => {
      assert.throws(() => upstreamPath(based, raw), { code: 'ERR_FORBIDDEN_PATH' });
    });
  }
  it('keeps ordinary ; parameters', () => {
    assert.equal(upstreamPath(based, '/proxy/a;v=1/b'), '/base/a;v=1/b');
  });
});

describe('upstreamPath refuses decoded characters that URL parsers drop or cut at (the readings of an upstream)', () => {
  const based = parseTargetUrl('http://up.test/base');
  const root = parseTargetUrl('http://up.test');
  // From the review: each reached the upstream, where `new URL(decodeURIComponent(p), base)` gives /secret.
  for (const raw of ['/proxy/..%09/secret', '/proxy/.%09./secret', '/proxy/%2e%2e%0a/secret', '/proxy/..%3f/secret', '/proxy/..%23/secret', '/proxy/..%0d/secret', '/proxy/..%20/secret', '/proxy/..%00/secret', '/proxy/a/..%2f..%2fsecret']) {
    it(`refuses ${raw}`, () => {
      assert.throws(() => upstreamPath(based, raw), { code: 'ERR_FORBIDDEN_PATH' });
      assert.throws(() => upstreamPath(root, raw), { code: 'ERR_FORBIDDEN_PATH' }, 'with an empty base path too: it would climb above the root');
    });
  }
});

describe('upstreamPath refuses spaces and control characters', () => {
  const based = parseTargetUrl('http://up.test/base');
  for (const raw of ['/proxy/%2e%2e ', '/proxy/%2e%2e\t', '/proxy/a\u0000b', '/proxy/x?q= 1', '/proxy/\u007f']) {
    it(`refuses ${JSON.stringify(raw)}`, () => {
      assert.throws(() => upstreamPath(based, raw), { code: 'ERR_FORBIDDEN_PATH' });
    });
  }
});
