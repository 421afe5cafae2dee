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

describe('upstreamRequestHeaders: identity headers', () => {
  it('removes the well-known identity headers in any case (and any name with "_"), and the configured ones; appends the identity', () => {
    const raw = [
      'X-WEBAUTH-USER', 'admin', 'x-webauth-email', 'a@evil', 'X_WEBAUTH_USER', 'admin', 'X-Amzn-Oidc-Data', 'tok', 'x-amzn-oidc-identity', 'id', 'Remote-User', 'admin',
      'Cf-Access-Jwt-Assertion', 'jwt', 'X-Team', 'evil', 'x-TEAM', 'evil', 'X-Request-Id', 'r1', 'X-Forwarded-Roles', 'ROLE_ADMIN', 'X-My-Jwt', 'jwt', 'Accept', '*/*',
    ];
    const identityNames = new Set(['x-team', 'x-my-jwt']);
    const withIdentity = { ...own, identity: ['x-webauth-user', 'alice', 'x-team', 'core'], identityNames };
    assert.deepEqual(pairs(upstreamRequestHeaders(raw, undefined, withIdentity)), [
      ['x-request-id', 'r1'], ['accept', '*/*'],
      ['authorization', 'Bearer T'], ['x-forwarded-proto', 'http'], ['x-forwarded-host', 'gw:8080'], ['x-forwarded-for', '127.0.0.1'], ['via', '1.0 corp, 1.1 jwtgate-abc'],
      ['x-webauth-user', 'alice'], ['x-team', 'core'],
    ]);
    // The same policy on a WebSocket handshake; and the per-name answers it keeps do not leak between configurations.
    assert.deepEqual(pairs(upstreamRequestHeaders(raw, undefined, own, { upgrade: true })).map(([name]) => name), [
      'x-team', 'x-team', 'x-request-id', 'x-my-jwt', 'accept', 'connection', 'upgrade', 'authorization', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-for', 'via',
    ]);
  });
});
