import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientResponseHeaders, upstreamRequestHeaders } from '../../server/proxy/index.js';

const own = { authorization: 'Bearer T', forwardedProto: 'http', forwardedHost: 'gw:8080', forwardedFor: '127.0.0.1', via: '1.0 corp, 1.1 jwtgate-abc' };

function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!.toLowerCase(), flat[i + 1]!]);
  return out;
}

describe('upstreamRequestHeaders', () => {
  it('drops hop-by-hop and identity headers, keeps the rest in order, and sets the gateway own', () => {
    const raw = [
      'Host', 'gw:8080', 'Authorization', 'Basic YTpi', 'Proxy-Authorization', 'x', 'Connection', 'keep-alive, X-Secret', 'Keep-Alive', 'timeout=5',
      'X-Secret', 'drop me', 'TE', 'trailers', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'X-Forwarded-For', '6.6.6.6', 'x-forwarded-host', 'evil',
      'X-Forwarded-Proto', 'https', 'Forwarded', 'for=6.6.6.6', 'Via', '1.0 corp', 'Accept', 'a/b', 'Cookie', 'c=1', 'Accept', 'c/d', 'Content-Length', '3', 'Expect', '100-continue',
    ];
    assert.deepEqual(pairs(upstreamRequestHeaders(raw, 'keep-alive, X-Secret', own)), [
      ['accept', 'a/b'], ['cookie', 'c=1'], ['accept', 'c/d'], ['content-length', '3'],
      ['authorization', 'Bearer T'], ['x-forwarded-proto', 'http'], ['x-forwarded-host', 'gw:8080'], ['x-forwarded-for', '127.0.0.1'], ['via', '1.0 corp, 1.1 jwtgate-abc'],
    ]);
  });
});

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop headers and those named by Connection', () => {
    assert.deepEqual(
      clientResponseHeaders({ 'content-length': '5', 'set-cookie': ['a=1', 'b=2'], connection: 'close, x-hop', 'x-hop': '1', 'transfer-encoding': 'chunked', 'keep-alive': 'timeout=1', 'x-custom-header': 'lorem ipsum' }),
      { 'content-length': '5', 'set-cookie': ['a=1', 'b=2'], 'x-custom-header': 'lorem ipsum' },
    );
  });
});
