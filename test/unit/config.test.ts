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
    const env = { JWTGATE_PORT: '9000', JWTGATE_HOST: '0.0.0.0', JWTGATE_TOKEN_TTL: '120', JWTGATE_INSECURE: 'true', JWTGATE_ALLOW_INSECURE_REMOTE: '1', JWTGATE_ADMIN_PASSWORD: 'a-long-enough-password' };
    const c = loadConfig({ port: '9001' }, env);
    assert.equal(c.port, 9001);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.tokenTtlSeconds, 120);
    assert.equal(c.insecure, true);
    assert.equal(c.adminPassword, 'a-long-enough-password');
    assert.equal(loadConfig({ insecure: true }, { JWTGATE_INSECURE: 'false' }).insecure, true);
  });

  it('refuses --insecure on a non-loopback host unless --allow-insecure-remote', () => {
    assert.throws(() => loadConfig({ insecure: true, host: '0.0.0.0' }, {}), { code: 'ERR_CONFIG', message: /allow-insecure-remote/ });
    assert.equal(loadConfig({ insecure: true, host: '0.0.0.0', allowInsecureRemote: true }, {}).insecure, true);
    assert.equal(loadConfig({ insecure: true, host: '::1' }, {}).insecure, true);
    assert.equal(loadConfig({ insecure: true, host: 'localhost' }, {}).insecure, true);
  });

  it('names the setting where it came from: the flag, or the environment variable', () => {
    assert.throws(() => loadConfig({ insecure: true, host: '0.0.0.0' }, {}), { message: /^--insecure makes every caller an administrator/ });
    assert.throws(() => loadConfig({ host: '0.0.0.0' }, { JWTGATE_INSECURE: 'yes' }), { message: /^JWTGATE_INSECURE makes every caller an administrator.*--allow-insecure-remote \(or JWTGATE_ALLOW_INSECURE_REMOTE\)/ });
  });

  it('a boolean in the environment accepts 1/0, true/false, yes/no, on/off and empty, and the error says so', () => {
    for (const yes of ['1', 'true', 'YES', ' on ']) assert.equal(loadConfig({}, { JWTGATE_INSECURE: yes }).insecure, true, yes);
    for (const no of ['', '0', 'false', 'No', 'off']) assert.equal(loadConfig({}, { JWTGATE_INSECURE: no }).insecure, false, no);
    assert.throws(() => loadConfig({}, { JWTGATE_INSECURE: 'maybe' }), { message: 'JWTGATE_INSECURE must be true or false (also 1/0, yes/no, on/off; empty is false), got "maybe"' });
  });

  it('parses --trust-proxy: none by default, CIDRs, or a hop count', () => {
    assert.equal(loadConfig({}, {}).trustProxy.kind, 'none');
    assert.equal(loadConfig({ trustProxy: '10.0.0.0/8, ::1' }, {}).trustProxy.kind, 'cidrs');
    assert.equal(loadConfig({}, { JWTGATE_TRUST_PROXY: '2' }).trustProxy.kind, 'hops');
    assert.throws(() => loadConfig({ trustProxy: '10.0.0.0/99' }, {}), { code: 'ERR_CONFIG' });
    assert.throws(() => loadConfig({ trustProxy: 'example.com' }, {}), { code: 'ERR_CONFIG' });
  });

  it('the idle timeout must exceed the upstream timeout', () => {
    assert.equal(loadConfig({ upstreamTimeoutMs: '30' }, {}).idleTimeoutMs, 40_000);
    assert.throws(() => loadConfig({ upstreamTimeoutMs: '30', idleTimeoutMs: '30' }, {}), { code: 'ERR_CONFIG' });
  });

  it('key rotation and token options: cache-aware defaults, durations, and the rules between them', () => {
    const c = loadConfig({}, {});
    assert.deepEqual([c.jwksMaxAgeSeconds, c.consumerCacheMaxSeconds, c.rotateEverySeconds, c.clockSkewSeconds], [300, 3600, null, 30]);
    assert.equal(loadConfig({ rotateEverySeconds: '30d' }, {}).rotateEverySeconds, 30 * 86_400);
    assert.equal(loadConfig({}, { JWTGATE_ROTATE_EVERY: '12h' }).rotateEverySeconds, 43_200);
    assert.equal(loadConfig({ rotateEverySeconds: 'off' }, { JWTGATE_ROTATE_EVERY: '1d' }).rotateEverySeconds, null);
    assert.equal(loadConfig({ consumerCacheMaxSeconds: '10m' }, {}).consumerCacheMaxSeconds, 600);
    assert.equal(loadConfig({ consumerCacheMaxSeconds: '900' }, {}).consumerCacheMaxSeconds, 900);
    assert.equal(loadConfig({ clockSkewSeconds: '5' }, {}).clockSkewSeconds, 5);
    for (const bad of ['30 d', '1w', '-1d', '1.5h', 'soon', '0']) assert.throws(() => loadConfig({ rotateEverySeconds: bad }, {}), { code: 'ERR_CONFIG', message: /--rotate-every/ }, bad);
    assert.throws(() => loadConfig({ consumerCacheMaxSeconds: '60s' }, {}), { code: 'ERR_CONFIG', message: /at least --jwks-max-age/ });
    assert.equal(loadConfig({ consumerCacheMaxSeconds: '60s', jwksMaxAgeSeconds: '60' }, {}).consumerCacheMaxSeconds, 60);
    assert.throws(() => loadConfig({ rotateEverySeconds: '30m' }, {}), { code: 'ERR_CONFIG', message: /at least --consumer-cache-max/ });
    assert.throws(() => loadConfig({ clockSkewSeconds: '601' }, {}), { code: 'ERR_CONFIG', message: /--clock-skew/ });
  });

  it('iss: --issuer, else the --public-url origin, else jwtgate', () => {
    assert.equal(loadConfig({}, {}).issuer, 'jwtgate');
    assert.equal(loadConfig({ publicUrl: 'https://gw.example.com/' }, {}).issuer, 'https://gw.example.com');
    assert.equal(loadConfig({}, { JWTGATE_PUBLIC_URL: 'http://gw.test:8443' }).issuer, 'http://gw.test:8443');
    assert.equal(loadConfig({ publicUrl: 'https://gw.example.com', issuer: 'corp' }, {}).issuer, 'corp');
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

describe('loadConfig: load-balancer assertions and identity headers', () => {
  const alb = { albKeyUrl: 'http://127.0.0.1:9/keys/{kid}', albArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188', trustProxy: '10.0.0.0/8' };

  it('is off by default: no assertion source, no identity header', () => {
    const c = loadConfig({}, {});
    assert.equal(c.assertions.alb, null);
    assert.equal(c.assertions.trustedJwt, null);
    assert.deepEqual(c.identityHeaders, []);
  });

  it('takes repeatable options as repeated flags (each value whole) or as one variable (lines, else commas and spaces)', () => {
    const flags = loadConfig({ ...alb, rolesClaim: 'groups', roleMap: ['CN=admins,OU=Groups=ROLE_ADMIN', 'Domain Users=ROLE_USER'], identityHeaders: ['X-WEBAUTH-USER=name'] }, {});
    assert.deepEqual([...flags.assertions.claims.roleMap!.keys()], ['CN=admins,OU=Groups', 'Domain Users']);
    assert.deepEqual(flags.identityHeaders.map((h) => h.name), ['x-webauth-user']);
    const lines = loadConfig(alb, { JWTGATE_ROLES_CLAIM: 'groups', JWTGATE_ROLE_MAP: 'CN=admins,OU=Groups=ROLE_ADMIN\nDomain Users=ROLE_USER\n', JWTGATE_AUTH_EXEMPT: '/healthz, /status/*' });
    assert.deepEqual([...lines.assertions.claims.roleMap!.keys()], ['CN=admins,OU=Groups', 'Domain Users']);
    assert.deepEqual(lines.assertions.authExempt.entries, ['/healthz', '/status/*']);
    const oneLine = loadConfig({}, { JWTGATE_IDENTITY_HEADER: 'X-WEBAUTH-USER=name, X-WEBAUTH-EMAIL=email X-Roles=roles' });
    assert.deepEqual(oneLine.identityHeaders.map((h) => h.name), ['x-webauth-user', 'x-webauth-email', 'x-roles']);
    assert.deepEqual(loadConfig({ identityHeaders: ['X-A=name'] }, { JWTGATE_IDENTITY_HEADER: 'X-B=name' }).identityHeaders.map((h) => h.name), ['x-a'], 'flags win over the variable');
  });

  it('reports the assertion and identity-header problems with the others, all at once', () => {
    try {
      loadConfig({ port: '70000', albRegion: 'eu-west-1', trustProxy: '2', identityHeaders: ['X_User=name', 'X-B=nickname'], autoCreateUsers: 'perhaps' }, {});
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const all = err.problems.join('\n');
      for (const problem of [/--port/, /--alb-arn is required/, /not a hop count/, /"X_User"/, /"X-B=nickname"/, /--auto-create-users must be true or false/]) assert.match(all, problem);
    }
  });

  it('keeps --alb-bypass-validation to loopback hosts unless --allow-insecure-remote, like --insecure', () => {
    assert.throws(() => loadConfig({ albBypassValidation: true, host: '0.0.0.0', trustProxy: '10.0.0.1' }, {}), { code: 'ERR_CONFIG', message: /--alb-bypass-validation .*refused on the non-loopback host 0\.0\.0\.0/ });
    const allowed = loadConfig({ albBypassValidation: true, host: '0.0.0.0', trustProxy: '10.0.0.1', allowInsecureRemote: true }, {});
    assert.equal(allowed.assertions.alb?.bypassValidation, true);
    assert.match(allowed.assertions.warnings.join('\n'), /WITHOUT any signature check/);
  });
});
