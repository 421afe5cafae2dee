/** Parsing the assertion options (as config.ts will call it) and the --auth-exempt matcher. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ASSERTION_OPTIONS, parseAssertionOptions, type AssertionContext, type AssertionOptions, type RawAssertionOptions } from '../../server/identity/assertions/index.js';
import { parseExemptPaths } from '../../server/identity/assertions/exempt-paths.js';
import { parseTrustProxy, type TrustProxy } from '../../server/proxy/trust-proxy.js';

const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/50dc6c495c0c9188';
const context: AssertionContext = { host: '127.0.0.1', allowInsecureRemote: false, trustProxy: parseTrustProxy('10.0.0.0/8') as TrustProxy };

function ok(raw: RawAssertionOptions, ctx: AssertionContext = context): AssertionOptions {
  const parsed = parseAssertionOptions(raw, ctx);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problems.join('\n'));
  return parsed.options;
}

function problems(raw: RawAssertionOptions, ctx: AssertionContext = context): string[] {
  const parsed = parseAssertionOptions(raw, ctx);
  assert.ok(!parsed.ok, 'expected problems');
  return parsed.problems;
}

describe('parseAssertionOptions', () => {
  it('is all off by default', () => {
    const options = ok({});
    assert.equal(options.alb, null);
    assert.equal(options.trustedJwt, null);
    assert.equal(options.autoCreateUsers, false);
    assert.equal(options.authExempt.matches('/healthz'), false);
  });

  it('builds the regional key URL from --alb-region, with the required --alb-arn', () => {
    const { alb } = ok({ albRegion: 'eu-west-1', albArn: ARN, albClientId: 'client', albIssuer: 'https://idp' });
    assert.deepEqual(alb, { keyUrlTemplate: 'https://public-keys.auth.elb.eu-west-1.amazonaws.com/{kid}', arn: ARN, clientId: 'client', issuer: 'https://idp', bypassValidation: false });
  });

  it('takes --alb-key-url with {kid}: https, or http on loopback only', () => {
    assert.equal(ok({ albKeyUrl: 'https://s3.example.com/keys/{kid}', albArn: ARN }).alb?.keyUrlTemplate, 'https://s3.example.com/keys/{kid}');
    assert.equal(ok({ albKeyUrl: 'http://127.0.0.1:9999/keys/{kid}', albArn: ARN }).alb?.keyUrlTemplate, 'http://127.0.0.1:9999/keys/{kid}');
    const cases: Array<[string, RegExp]> = [
      ['http://keys.example.com/{kid}', /https URL/],
      ['https://keys.example.com/keys', /\{kid\}/],
      ['https://{kid}.example.com/', /in its path/],
      ['https://user:pw@keys.example.com/{kid}', /credentials/],
      ['ftp://keys.example.com/{kid}', /https URL/],
      ['not a url {kid}', /absolute http\(s\) URL/],
    ];
    for (const [albKeyUrl, message] of cases) assert.match(problems({ albKeyUrl, albArn: ARN }).join('\n'), message, albKeyUrl);
  });

  it('requires --alb-arn, one of --alb-region/--alb-key-url, and a well-formed region and ARN', () => {
    assert.match(problems({ albRegion: 'eu-west-1' }).join('\n'), /--alb-arn is required/);
    assert.match(problems({ albArn: ARN }).join('\n'), /needs --alb-region or --alb-key-url/);
    assert.match(problems({ albArn: ARN, albRegion: 'eu-west-1', albKeyUrl: 'https://k.example/{kid}' }).join('\n'), /exclusive/);
    assert.match(problems({ albArn: ARN, albRegion: 'Europe' }).join('\n'), /AWS region/);
    assert.match(problems({ albArn: ARN, albRegion: 'us-east-1' }).join('\n'), /differs from the region of --alb-arn/);
    assert.match(problems({ albArn: ARN.replace('eu-west-1', 'us-gov-west-1'), albRegion: 'us-gov-west-1' }).join('\n'), /--alb-key-url/);
    assert.match(problems({ albArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/abc', albRegion: 'eu-west-1' }).join('\n'), /Application Load Balancer ARN/);
  });

  it('refuses --alb-bypass-validation on a non-loopback host unless --allow-insecure-remote, and warns about it', () => {
    const remote = { ...context, host: '0.0.0.0' };
    assert.match(problems({ albBypassValidation: true }, remote).join('\n'), /refused on the non-loopback host 0\.0\.0\.0/);
    const allowed = ok({ albBypassValidation: 'true' }, { ...remote, allowInsecureRemote: true });
    assert.equal(allowed.alb?.bypassValidation, true);
    assert.match(allowed.warnings.join('\n'), /WITHOUT any signature check/);
    assert.equal(ok({ albBypassValidation: true }, { ...context, host: 'localhost' }).alb?.arn, null);
    assert.deepEqual(ok({ albBypassValidation: 'false' }).alb, null);
    assert.match(problems({ albBypassValidation: 'maybe' }).join('\n'), /true or false/);
  });

  it('requires --trust-proxy for any assertion source', () => {
    const none = { ...context, trustProxy: parseTrustProxy('') as TrustProxy };
    assert.match(problems({ albRegion: 'eu-west-1', albArn: ARN }, none).join('\n'), /--trust-proxy/);
    assert.match(problems({ trustedJwtHeader: 'Cf-Access-Jwt-Assertion', trustedJwksUrl: 'https://team.cloudflareaccess.com/cdn-cgi/access/certs' }, none).join('\n'), /--trust-proxy/);
  });

  it('refuses a --trust-proxy range that trusts every peer of a family, all at once, and warns about a very broad one', () => {
    const alb = { albRegion: 'eu-west-1', albArn: ARN, albIssuer: 'https://idp', albClientId: 'client' };
    const withTrust = (text: string) => ({ ...context, trustProxy: parseTrustProxy(text) as TrustProxy });
    const found = problems(alb, withTrust('0.0.0.0/0, 127.0.0.1/0, ::/0, ::/80, ::ffff:0:0/96, ::ffff:0.0.0.0/96, 10.0.0.0/8')).join('\n');
    for (const entry of ['0.0.0.0/0 trusts every IPv4 peer', '127.0.0.1/0 trusts every IPv4 peer', '::/0 trusts every peer', '::/80 trusts every IPv4 peer', '::ffff:0:0/96 trusts every IPv4 peer', '::ffff:0.0.0.0/96 trusts every IPv4 peer']) {
      assert.ok(found.includes(`--trust-proxy ${entry}`), entry);
    }
    assert.ok(!found.includes('10.0.0.0/8'));
    for (const [text, warning] of [
      ['10.0.0.0/7, 10.0.0.0/8, ::1', '--trust-proxy 10.0.0.0/7, 10.0.0.0/8 together are a very broad range (more IPv4 addresses than an IPv4 /8)'],
      ['::ffff:10.0.0.0/100', '--trust-proxy ::ffff:10.0.0.0/100 is a very broad range (more than an IPv4 /8): every peer in it can assert any user'],
      ['2000::/3, 2001:db8::/32, 10.0.0.1', '--trust-proxy 2000::/3, 2001:db8::/32 together are a very broad range (more IPv6 addresses than an IPv6 /32)'],
      ['2001:db8::/31', '--trust-proxy 2001:db8::/31 is a very broad range (more than an IPv6 /32)'],
    ]) {
      const { warnings } = ok(alb, withTrust(text!));
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.ok(warnings[0]!.startsWith(warning!), warnings[0]);
    }
    const narrow = ok(alb, withTrust('10.0.0.0/8, ::ffff:10.1.0.0/112, 10.2.3.4, 2001:db8::/32, 2001:db8:1::/56, 2001:db8::1'));
    assert.deepEqual(narrow.warnings, [], 'a /8 and a /32 (and ranges inside them) are not broad');
    assert.equal(ok({}, withTrust('0.0.0.0/0')).alb, null, 'without an assertion source, --trust-proxy is only about X-Forwarded-*');
  });

  it('judges the --trust-proxy ranges together: refuses those that trust every peer of a family between them, warns on the size of their union', () => {
    const alb = { albRegion: 'eu-west-1', albArn: ARN, albIssuer: 'https://idp', albClientId: 'client' };
    const withTrust = (text: string) => ({ ...context, trustProxy: parseTrustProxy(text) as TrustProxy });
    const slash8s = Array.from({ length: 256 }, (_, n) => `${n}.0.0.0/8`);
    const mapped8s = Array.from({ length: 256 }, (_, n) => `::ffff:${n}.0.0.0/104`);
    const refused: Array<[string, string]> = [
      ['0.0.0.0/1,128.0.0.0/1', '--trust-proxy 0.0.0.0/1, 128.0.0.0/1 together trust every IPv4 peer, and identity assertions are believed from every trusted peer'],
      ['::ffff:0:0/97,::ffff:8000:0/97', '--trust-proxy ::ffff:0:0/97, ::ffff:8000:0/97 together trust every IPv4 peer (IPv4 peers are matched against IPv6 ranges as ::ffff:a.b.c.d)'],
      ['0.0.0.0/2, 64.0.0.0/2, ::ffff:128.0.0.0/97', '--trust-proxy ::ffff:128.0.0.0/97, 0.0.0.0/2, 64.0.0.0/2 together trust every IPv4 peer (IPv4 peers'],
      [slash8s.join(','), '--trust-proxy 0.0.0.0/8, 1.0.0.0/8, 2.0.0.0/8, 3.0.0.0/8 and 252 more together trust every IPv4 peer'],
      [mapped8s.join(','), '--trust-proxy ::ffff:0.0.0.0/104, ::ffff:1.0.0.0/104, ::ffff:2.0.0.0/104, ::ffff:3.0.0.0/104 and 252 more together trust every IPv4 peer'],
      ['8000::/1, ::/2, 4000::/2', '--trust-proxy 8000::/1, 4000::/2, ::/2 together trust every IPv6 peer'],
    ];
    for (const [text, problem] of refused) {
      const found = problems(alb, withTrust(text));
      assert.ok(found.some((p) => p.startsWith(problem)), `${text.slice(0, 60)}: ${found.join('\n')}`);
    }
    // ::/2 holds ::ffff:0:0/96: refused on its own for IPv4, and with the rest for IPv6.
    assert.deepEqual(problems(alb, withTrust('8000::/1, ::/2, 4000::/2')).map((p) => p.split(' trust')[0]), ['--trust-proxy ::/2', '--trust-proxy 8000::/1, 4000::/2, ::/2 together']);
    assert.deepEqual(problems(alb, withTrust('::/1,8000::/1')).map((p) => p.split(' trust')[0]), ['--trust-proxy ::/1', '--trust-proxy 8000::/1, ::/1 together']);
    // A /11 short of everything: warned about (the union's size), not refused.
    const allButOne = ok(alb, withTrust([...slash8s.slice(0, 255), '255.0.0.0/9', '255.128.0.0/10', '255.192.0.0/11'].join(',')));
    assert.match(allButOne.warnings.join('\n'), /^--trust-proxy 0\.0\.0\.0\/8, .* and 254 more together are a very broad range \(more IPv4 addresses than an IPv4 \/8\)/);
    assert.deepEqual(ok(alb, withTrust(Array(20).fill('10.0.0.0/8').join(','))).warnings, [], 'overlaps count once');
    assert.equal(ok(alb, withTrust('10.0.0.0/9, 10.128.0.0/9, 11.0.0.0/32')).warnings.length, 1, 'a /8 and one more address');
    assert.equal(ok(alb, withTrust('2001:db8::/33, 2001:db8:8000::/33, 2001:db9::1')).warnings.length, 1, 'a /32 and one more address');
    assert.deepEqual(ok(alb, withTrust('2002::/16, 64:ff9b::/96, ::/96')).warnings.map((w) => w.split(' (')[1]), ['more IPv6 addresses than an IPv6 /32): every peer in them can assert any user; keep it to the load balancer\'s subnets'], 'only ::ffff:0:0/96 counts as IPv4');
  });

  it('warns when the ALB assertion is accepted without --alb-issuer or --alb-client-id (any login action on the ALB), not when either is set', () => {
    const warned = ok({ albRegion: 'eu-west-1', albArn: ARN }).warnings.join('\n');
    assert.match(warned, /without --alb-issuer or --alb-client-id: the assertion of every login action on this ALB is accepted/);
    for (const extra of [{ albIssuer: 'https://idp' }, { albClientId: 'client' }]) assert.deepEqual(ok({ albRegion: 'eu-west-1', albArn: ARN, ...extra }).warnings, [], JSON.stringify(extra));
    assert.doesNotMatch(ok({ albBypassValidation: true }).warnings.join('\n'), /--alb-issuer/, 'bypass mode has its own warning');
  });

  it('parses the trusted JWT: header (lower case), JWKS URL, algorithms, issuer, audience list', () => {
    const { trustedJwt } = ok({ trustedJwtHeader: 'Cf-Access-Jwt-Assertion', trustedJwksUrl: 'https://team.cloudflareaccess.com/cdn-cgi/access/certs', trustedIssuer: 'https://team.cloudflareaccess.com', trustedAudience: 'aud1, aud2', trustedAlgorithms: 'rs256 ES256,RS256' });
    assert.equal(trustedJwt?.header, 'cf-access-jwt-assertion');
    assert.equal(trustedJwt?.jwksUrl.href, 'https://team.cloudflareaccess.com/cdn-cgi/access/certs');
    assert.deepEqual(trustedJwt?.algorithms, ['RS256', 'ES256']);
    assert.deepEqual(trustedJwt?.audience, ['aud1', 'aud2']);
    const noAudience = ok({ trustedJwtHeader: 'X-Pomerium-Jwt-Assertion', trustedJwksUrl: 'https://p.example/.well-known/pomerium/jwks.json' });
    assert.deepEqual(noAudience.trustedJwt?.algorithms, ['RS256', 'ES256']);
    assert.match(noAudience.warnings.join('\n'), /without --trusted-audience: every token this JWKS signs is accepted/, 'a missing audience is warned about at start');
    assert.deepEqual(ok({ trustedJwtHeader: 'X-Jwt', trustedJwksUrl: 'https://p.example/jwks.json', trustedAudience: 'app' }).warnings, []);
  });

  it('refuses a trusted JWT without header or JWKS, a reserved or malformed header, and none/HMAC/unknown algorithms', () => {
    const jwks = 'https://p.example/jwks.json';
    assert.match(problems({ trustedJwtHeader: 'X-Jwt' }).join('\n'), /both --trusted-jwt-header and --trusted-jwks-url/);
    assert.match(problems({ trustedIssuer: 'x' }).join('\n'), /both/);
    assert.match(problems({ trustedJwtHeader: 'Authorization', trustedJwksUrl: jwks }).join('\n'), /cannot be authorization/);
    assert.match(problems({ trustedJwtHeader: 'X_Jwt', trustedJwksUrl: jwks }).join('\n'), /no "_"/);
    assert.match(problems({ trustedJwtHeader: 'x-amzn-oidc-data', trustedJwksUrl: jwks, albRegion: 'eu-west-1', albArn: ARN }).join('\n'), /ALB assertion header/);
    const algs = problems({ trustedJwtHeader: 'X-Jwt', trustedJwksUrl: jwks, trustedAlgorithms: 'none,HS256,XY999' }).join('\n');
    assert.match(algs, /none is never accepted/);
    assert.match(algs, /HS256 is never accepted/);
    assert.match(algs, /unknown algorithm "XY999"/);
    assert.match(problems({ trustedJwtHeader: 'X-Jwt', trustedJwksUrl: 'http://p.example/jwks.json' }).join('\n'), /https URL/);
  });

  it('parses the claims mapping: role map (array entries whole, a string split at commas), default roles', () => {
    const base = { albRegion: 'eu-west-1', albArn: ARN, rolesClaim: 'groups' };
    const { claims } = ok({ ...base, usernameClaim: 'email', roleMap: ['CN=admins,OU=Groups=ROLE_ADMIN', 'ops=ROLE_OPS', 'ops=ROLE_PAGER'], defaultRoles: 'ROLE_USER ROLE_VIEWER' });
    assert.equal(claims.usernameClaim, 'email');
    assert.deepEqual([...claims.roleMap!], [['CN=admins,OU=Groups', ['ROLE_ADMIN']], ['ops', ['ROLE_OPS', 'ROLE_PAGER']]]);
    assert.deepEqual(claims.defaultRoles, ['ROLE_USER', 'ROLE_VIEWER']);
    assert.deepEqual([...ok({ ...base, roleMap: 'a=ROLE_A,b=ROLE_B' }).claims.roleMap!.keys()], ['a', 'b']);
    assert.deepEqual(ok({ ...base, defaultRoles: '' }).claims.defaultRoles, []);
    assert.deepEqual(ok(base).claims.defaultRoles, ['ROLE_USER']);
  });

  it('reports bad claim options', () => {
    const base = { albRegion: 'eu-west-1', albArn: ARN };
    assert.match(problems({ ...base, roleMap: ['admins'] }).join('\n'), /GROUP=ROLE/);
    assert.match(problems({ ...base, roleMap: ['admins=ROLE_ADMIN'] }).join('\n'), /needs --roles-claim/);
    assert.match(problems({ ...base, rolesClaim: 'g', roleMap: ['admins= '] }).join('\n'), /GROUP=ROLE/);
    assert.match(problems({ ...base, defaultRoles: 'ROLE_\u0001' }).join('\n'), /--default-roles/);
    assert.match(problems({ ...base, usernameClaim: 'a\nb' }).join('\n'), /--username-claim/);
  });

  it('refuses claim, exempt and auto-create options without an assertion source', () => {
    const found = problems({ usernameClaim: 'email', authExempt: ['/healthz'], autoCreateUsers: true });
    assert.equal(found.length, 3);
    assert.match(found.join('\n'), /--username-claim applies to assertions/);
    assert.match(found.join('\n'), /--auto-create-users applies/);
  });

  it('reports every problem at once', () => {
    const found = problems({ albRegion: 'nowhere', albKeyUrl: 'x', trustedJwtHeader: 'X_Y', trustedJwksUrl: 'ftp://x', trustedAlgorithms: 'HS512', autoCreateUsers: 'perhaps', authExempt: ['no-slash'] }, { ...context, trustProxy: parseTrustProxy('') as TrustProxy });
    assert.ok(found.length >= 7, found.join('\n'));
  });

  it('documents every option with a flag and a JWTGATE_ variable', () => {
    const keys = new Set(ASSERTION_OPTIONS.map((o) => o.key));
    assert.equal(keys.size, ASSERTION_OPTIONS.length);
    for (const option of ASSERTION_OPTIONS) {
      assert.match(option.flag, /^--[a-z-]+( <[a-z=-]+>)?$/);
      assert.equal(option.env, `JWTGATE_${option.flag.split(' ')[0]!.slice(2).toUpperCase().replaceAll('-', '_')}`);
    }
    assert.deepEqual(ASSERTION_OPTIONS.filter((o) => o.repeatable).map((o) => o.key), ['roleMap', 'authExempt']);
  });
});

describe('--auth-exempt', () => {
  const exempt = (entries: string[]) => {
    const parsed = parseExemptPaths(entries);
    assert.ok(!Array.isArray(parsed), String(parsed));
    return parsed;
  };

  it('matches exact paths, and prefixes written /dir/* (the directory itself included), without the query', () => {
    const paths = exempt(['/healthz', '/proxy/health/*']);
    for (const yes of ['/healthz', '/healthz?full=1', '/proxy/health', '/proxy/health/', '/proxy/health/db']) assert.ok(paths.matches(yes), yes);
    for (const no of ['/healthz/', '/healthzx', '/Healthz', '/proxy/healthcheck', '/proxy', '/', '/proxy/health/../admin', '/proxy/health/%2e%2e/admin', '/proxy/health/./x', '/proxy/health\\..\\x']) {
      assert.ok(!paths.matches(no), no);
    }
  });

  it('matches only plain paths: no reading of an upstream (servlet ";" parameters, double decoding) can leave the prefix', () => {
    const paths = exempt(['/proxy/actuator/health/*', '/proxy/ready']);
    for (const yes of ['/proxy/actuator/health/db', '/proxy/actuator/health/a_b~c-d.v2', '/proxy/actuator/health/.well-known', '/proxy/ready?x=%2e%2e;/']) assert.ok(paths.matches(yes), yes);
    const stretched = [
      '/proxy/actuator/health/..;/env', '/proxy/actuator/health/..;a/env', '/proxy/actuator/health/..;/..;/admin', '/proxy/actuator/health/%252e%252e/env',
      '/proxy/actuator/health/.%252e/env', '/proxy/actuator/health/..%3B/env', '/proxy/actuator/health;/../env', '/proxy/actuator/health/x;jsessionid=1',
      '/proxy/actuator/health//x', '/proxy/actuator/health/%41', '/proxy/actuator/health/a:b', '/proxy/actuator/health/a@b', '/proxy/ready;', '/proxy/ready/.', '/proxy/actuator/health/...',
    ];
    for (const no of stretched) assert.ok(!paths.matches(no), no);
  });

  it('refuses entries that are not plain paths', () => {
    for (const entry of ['healthz', '/a b', '/a?b', '/a#b', '/a*', '/*', '/a/*/b', '/a/../b', '/a/%2e%2e', '/a\\b', `/${'a'.repeat(1100)}`, '/a;b', '/a%41', '/a//b', '/a//*', '/a/./b', '/a:b', '/a/.']) {
      const parsed = parseExemptPaths([entry]);
      assert.ok(Array.isArray(parsed) && parsed.length > 0, entry);
    }
    const all = parseExemptPaths(['/*', '/a;b', '/ok']);
    assert.ok(Array.isArray(all) && all.length === 2, 'every bad entry is reported');
  });
});
