import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTargetUrl } from '../../server/proxy/index.js';

describe('parseTargetUrl', () => {
  it('accepts absolute http(s) URLs with an optional port and base path', () => {
    assert.deepEqual({ ...parseTargetUrl('http://localhost:8000') }, { href: 'http://localhost:8000', origin: 'http://localhost:8000', basePath: '' });
    assert.deepEqual({ ...parseTargetUrl('https://custom.com:1991/') }, { href: 'https://custom.com:1991', origin: 'https://custom.com:1991', basePath: '' });
    assert.deepEqual({ ...parseTargetUrl('http://127.0.0.1/base/path/') }, { href: 'http://127.0.0.1/base/path', origin: 'http://127.0.0.1', basePath: '/base/path' });
    assert.equal(parseTargetUrl('HTTP://Example.COM:80/x').href, 'http://example.com/x');
    assert.equal(parseTargetUrl('http://[::1]:9000').origin, 'http://[::1]:9000');
  });

  const refused: Array<[unknown, string]> = [
    [42, 'not a string'],
    ['', 'empty'],
    ['localhost:8000', 'no scheme'],
    ['/relative/path', 'relative'],
    ['ftp://example.com', 'other scheme'],
    ['file:///etc/passwd', 'file scheme'],
    ['javascript:alert(1)', 'javascript scheme'],
    ['http://user:pass@example.com', 'credentials'],
    ['http://user@example.com', 'user name'],
    ['http://example.com/?q=1', 'query'],
    ['http://example.com/?', 'empty query'],
    ['http://example.com/#frag', 'fragment'],
    ['http://exa mple.com', 'space'],
    ['http://example.com/\n', 'newline'],
    ['http:///path', 'no host'],
    ['http:example.com', 'no slashes'],
    ['http://example.com:99999', 'bad port'],
    [`http://example.com/${'a'.repeat(2100)}`, 'too long'],
  ];
  for (const [input, why] of refused) {
    it(`refuses ${why}`, () => {
      assert.throws(() => parseTargetUrl(input), { code: 'ERR_INVALID_TARGET_URL', status: 400 });
    });
  }
});
