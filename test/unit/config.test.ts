import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../server/errors.js';
import { loadConfig } from '../../server/config.js';

describe('loadConfig', () => {
  it('has safe defaults', () => {
    const c = loadConfig({}, {});
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8080);
    assert.equal(c.dataDir, path.resolve('data'));
    assert.equal(c.insecure, false);
    assert.equal(c.tokenTtlSeconds, 300);
    assert.equal(c.audience, null);
    assert.equal(c.upstreamTimeoutMs, 60_000);
    assert.equal(c.adminPassword, null);
    assert.equal(c.minPasswordLength, 12);
  });

  it('takes flags over env over defaults', () => {
    const env = { JWTGATE_PORT: '9000', JWTGATE_HOST: '0.0.0.0', JWTGATE_TOKEN_TTL: '120', JWTGATE_INSECURE: 'true', JWTGATE_ADMIN_PASSWORD: 'a-long-enough-password' };
    const c = loadConfig({ port: '9001' }, env);
    assert.equal(c.port, 9001);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.tokenTtlSeconds, 120);
    assert.equal(c.insecure, true);
    assert.equal(c.adminPassword, 'a-long-enough-password');
    assert.equal(loadConfig({ insecure: true }, { JWTGATE_INSECURE: 'false' }).insecure, true);
  });

  it('reports every problem at once', () => {
    try {
      loadConfig({ port: '70000', tokenTtlSeconds: 'abc', logLevel: 'loud' }, { JWTGATE_INSECURE: 'maybe', JWTGATE_ADMIN_PASSWORD: 'short' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'ERR_CONFIG');
      assert.equal(err.problems.length, 5, err.problems.join('\n'));
      assert.equal(err.exitCode, 2);
    }
  });
});
