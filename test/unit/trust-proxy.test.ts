import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { forwardedOf, parseTrustProxy, type TrustProxy } from '../../server/proxy/index.js';

function request(peer: string, headers: Record<string, string>): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers: { host: 'gw.test:8080', ...headers } } as unknown as IncomingMessage;
}
const trust = (text: string) => parseTrustProxy(text) as TrustProxy;

describe('forwardedOf', () => {
  it('ignores X-Forwarded-* from an untrusted peer', () => {
    const f = forwardedOf(request('203.0.113.9', { 'x-forwarded-for': '127.0.0.1', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' }), trust(''));
    assert.deepEqual(f, { proto: 'http', host: 'gw.test:8080', forwardedFor: '203.0.113.9', clientAddress: '203.0.113.9' });
  });

  it('takes the right-most untrusted address as the client', () => {
    const f = forwardedOf(request('10.0.0.2', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.0.0.1' }), trust('10.0.0.0/8'));
    assert.equal(f.clientAddress, '198.51.100.7');
    assert.equal(f.forwardedFor, '6.6.6.6, 198.51.100.7, 10.0.0.1, 10.0.0.2');
  });

  it('stops at an entry it cannot parse: nothing left of it is believed (no loopback spoofing)', () => {
    const f = forwardedOf(request('10.0.0.2', { 'x-forwarded-for': '127.0.0.1, garbage, 10.0.0.1' }), trust('10.0.0.0/8'));
    assert.equal(f.clientAddress, '10.0.0.1');
    assert.equal(f.forwardedFor, '10.0.0.1, 10.0.0.2');
  });

  it('reads ip:port and [v6]:port entries', () => {
    assert.equal(forwardedOf(request('10.0.0.2', { 'x-forwarded-for': '127.0.0.1, 203.0.113.5:4321' }), trust('10.0.0.0/8')).clientAddress, '203.0.113.5');
    assert.equal(forwardedOf(request('10.0.0.2', { 'x-forwarded-for': '6.6.6.6, [2001:db8::7]:443' }), trust('10.0.0.0/8')).clientAddress, '2001:db8::7');
  });

  it('with --public-url, proto and host are pinned whatever the peer says', () => {
    const f = forwardedOf(request('10.0.0.2', { 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'http' }), trust('10.0.0.0/8'), new URL('https://gw.example.test'));
    assert.equal(f.proto, 'https');
    assert.equal(f.host, 'gw.example.test');
  });

  it('refuses malformed --trust-proxy values', () => {
    for (const bad of ['10.0.0.0/8/zzz', 'example.com', '10.0.0.0/33', '::1/129', '99']) assert.equal(typeof parseTrustProxy(bad), 'string', bad);
  });
});
