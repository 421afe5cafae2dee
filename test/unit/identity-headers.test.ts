/** --identity-header parsing and values, and the list of identity headers a client may never send. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  WELL_KNOWN_IDENTITY_HEADERS,
  WELL_KNOWN_IDENTITY_PREFIXES,
  identityHeaderStripper,
  identityHeaderValues,
  isWellKnownIdentityHeader,
  parseIdentityHeaders,
  type IdentityHeaderSpec,
} from '../../server/proxy/identity-headers.js';

function specs(raw: string | string[]): readonly IdentityHeaderSpec[] {
  const parsed = parseIdentityHeaders(raw);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problems.join('\n'));
  return parsed.headers;
}

function problemsOf(raw: string | string[]): string {
  const parsed = parseIdentityHeaders(raw);
  assert.ok(!parsed.ok, `expected problems for ${JSON.stringify(raw)}`);
  return parsed.problems.join('\n');
}

const alice = { name: 'alice', roles: ['ROLE_ADMIN', 'ROLE_USER'], email: 'alice@example.test', claims: { sub: 'u-1', groups: ['admins', 'ops'], level: 3, staff: true, nested: { team: 'core' } } };

describe('parseIdentityHeaders', () => {
  it('parses NAME=FIELD entries, names in lower case', () => {
    assert.deepEqual(specs(['X-WEBAUTH-USER=name', 'X-WEBAUTH-EMAIL=email', 'X-Forwarded-Roles=roles', 'X-Team=claim:nested.team']), [
      { name: 'x-webauth-user', field: { kind: 'name' } },
      { name: 'x-webauth-email', field: { kind: 'email' } },
      { name: 'x-forwarded-roles', field: { kind: 'roles' } },
      { name: 'x-team', field: { kind: 'claim', claim: 'nested.team' } },
    ]);
    assert.equal(specs('X-A=name, X-B=roles').length, 2, 'one environment string is split at commas');
    assert.deepEqual(specs([]), []);
  });

  it('refuses bad names, reserved names, unknown fields and duplicates, all at once', () => {
    const found = problemsOf(['X_User=name', 'Authorization=name', 'Host=name', 'X-Forwarded-For=name', 'X-A=nickname', 'X-B', 'X-C=claim:', 'X-D=name', 'x-d=roles', 'X Y=name']);
    for (const expected of [/"X_User"/, /cannot be authorization/, /cannot be host/, /cannot be x-forwarded-for/, /"X-A=nickname"/, /"X-B"/, /"X-C=claim:"/, /X-D.*twice|x-d.*twice/, /"X Y"/]) assert.match(found, expected);
  });
});

describe('identityHeaderValues', () => {
  const all = specs(['X-User=name', 'X-Roles=roles', 'X-Email=email', 'X-Sub=claim:sub', 'X-Groups=claim:groups', 'X-Level=claim:level', 'X-Staff=claim:staff', 'X-Team=claim:nested.team', 'X-Nested=claim:nested', 'X-Missing=claim:nope']);

  it('sets name, roles joined by ",", email and claims (arrays joined, numbers and booleans as text)', () => {
    const { headers, omitted } = identityHeaderValues(all, alice);
    assert.deepEqual(headers, ['x-user', 'alice', 'x-roles', 'ROLE_ADMIN,ROLE_USER', 'x-email', 'alice@example.test', 'x-sub', 'u-1', 'x-groups', 'admins,ops', 'x-level', '3', 'x-staff', 'true', 'x-team', 'core']);
    assert.deepEqual(omitted, ['x-nested', 'x-missing']);
  });

  it('works for users without claims or email (basic auth), and sets nothing for anonymous callers', () => {
    assert.deepEqual(identityHeaderValues(all, { name: 'bob', roles: [] }).headers, ['x-user', 'bob']);
    assert.deepEqual(identityHeaderValues(all, { name: 'anonymousUser', roles: ['ROLE_ANONYMOUS'] }), { headers: [], omitted: [] });
  });

  it('leaves out, never cuts or cleans, values with CR/LF or control characters, edge white space, inner commas, or too long', () => {
    const spec = specs(['X-V=claim:v']);
    for (const v of ['a\r\nX-Evil: 1', 'a\nb', 'a\u0000', 'a\u007f', 'a\u0085', ' a', 'a ', '', ['a,b', 'c'], 'x'.repeat(4097), 'é'.repeat(2049)]) {
      assert.deepEqual(identityHeaderValues(spec, { name: 'alice', roles: [], claims: { v } }), { headers: [], omitted: ['x-v'] }, JSON.stringify(v).slice(0, 40));
    }
    assert.equal(identityHeaderValues(spec, { name: 'alice', roles: [], claims: { v: 'x'.repeat(4096) } }).headers[1]!.length, 4096);
  });

  it('leaves out a name or email with a comma (an upstream may read the header as a list), and keeps commas between array entries', () => {
    const spec = specs(['X-User=name', 'X-Email=email', 'X-Groups=claim:groups']);
    const evil = identityHeaderValues(spec, { name: 'evil,admin', roles: [], email: '"admin,x"@example.com', claims: { groups: ['a', 'b'] } });
    assert.deepEqual(evil, { headers: ['x-groups', 'a,b'], omitted: ['x-user', 'x-email'] });
  });

  it('holds every field to one rule: an entry with a "," or a format character (\\p{Cf}) leaves the value out, whatever the field', () => {
    const spec = specs(['X-User=name', 'X-Email=email', 'X-Roles=roles', 'X-Login=claim:preferred_username', 'X-Groups=claim:groups']);
    const plain = { name: 'alice', roles: ['ROLE_USER'], email: 'alice@example.test', claims: { preferred_username: 'alice', groups: ['a', 'b'] } };
    assert.deepEqual(identityHeaderValues(spec, plain).omitted, []);
    const cases: Array<[string, object]> = [
      ['x-login', { claims: { ...plain.claims, preferred_username: 'evil,admin' } }],
      ['x-login', { claims: { ...plain.claims, preferred_username: 'admin\u200b' } }],
      ['x-login', { claims: { ...plain.claims, preferred_username: '\u202enimda' } }],
      ['x-groups', { claims: { ...plain.claims, groups: ['a', 'admins\u2060'] } }],
      ['x-user', { name: 'admin\u200d' }],
      ['x-email', { email: 'admin\ufeff@example.test' }],
      ['x-roles', { roles: ['ROLE_USER', 'ROLE_ADMIN\u200b'] }],
    ];
    for (const [omitted, change] of cases) {
      const values = identityHeaderValues(spec, { ...plain, ...change });
      assert.deepEqual(values.omitted, [omitted], JSON.stringify(change));
      assert.equal(values.headers.length, 8, 'the other headers are still set');
    }
    const fullWidth = identityHeaderValues(specs('X-Login=claim:preferred_username'), { ...plain, claims: { preferred_username: 'ａｄｍｉｎ' } });
    assert.equal(Buffer.from(fullWidth.headers[1]!, 'latin1').toString('utf8'), 'ａｄｍｉｎ', 'text NFKC changes is sent: only the user name is held to NFKC');
  });

  it('leaves claim:email out when the claims say the address is not verified (the rule of the email field), and no other claim', () => {
    const spec = specs(['X-Email=claim:email', 'X-Sub=claim:sub']);
    for (const emailVerified of [false, 'false', 0, 'no', null]) {
      const values = identityHeaderValues(spec, { name: 'u1', roles: [], claims: { sub: 'u1', email: 'victim@example.com', email_verified: emailVerified } });
      assert.deepEqual(values, { headers: ['x-sub', 'u1'], omitted: ['x-email'] }, JSON.stringify(emailVerified));
    }
    for (const claims of [{ email_verified: true }, { email_verified: 'true' }, {}]) {
      const values = identityHeaderValues(spec, { name: 'u1', roles: [], claims: { sub: 'u1', email: 'alice@example.com', ...claims } });
      assert.deepEqual(values.headers, ['x-email', 'alice@example.com', 'x-sub', 'u1'], JSON.stringify(claims));
    }
  });

  it('sends non-ASCII text as UTF-8 bytes', () => {
    const [, value] = identityHeaderValues(specs('X-User=name'), { name: 'José', roles: [] }).headers;
    assert.equal(Buffer.from(value!, 'latin1').toString('utf8'), 'José');
  });
});

describe('identity headers a client may never send', () => {
  it('covers the auth proxies and load balancers named in the issue', () => {
    const names = [
      'X-WEBAUTH-USER', 'X-WEBAUTH-EMAIL', 'X-Forwarded-User', 'X-Forwarded-Email', 'X-Forwarded-Groups', 'X-Forwarded-Preferred-Username',
      'X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Groups', 'X-Auth-Request-Preferred-Username', 'X-Auth-Request-Access-Token',
      'Remote-User', 'Remote-Groups', 'X-Remote-User', 'X-Remote-Group', 'X-Remote-Extra-Scopes', 'X-Pomerium-Jwt-Assertion', 'X-Pomerium-Claim-Email',
      'Cf-Access-Jwt-Assertion', 'Cf-Access-Authenticated-User-Email', 'X-Amzn-Oidc-Data', 'X-Amzn-Oidc-Identity', 'X-Amzn-Oidc-Accesstoken',
      'X-Goog-Authenticated-User-Email', 'X-Goog-Authenticated-User-Id', 'X-Goog-Iap-Jwt-Assertion', 'X-authentik-username', 'X-authentik-groups',
      'X-MS-CLIENT-PRINCIPAL', 'X-MS-CLIENT-PRINCIPAL-NAME', 'X-MS-TOKEN-AAD-ID-TOKEN', 'Tailscale-User-Login', 'X-Vouch-User', 'Impersonate-User',
      'OIDC_CLAIM_email', 'X-Consumer-Username', 'X-SSL-Client-DN', 'X-Amzn-Mtls-Clientcert',
    ];
    for (const name of names) {
      for (const variant of [name, name.toLowerCase(), name.toUpperCase(), name.replaceAll('-', '_'), name.replaceAll('-', '_').toLowerCase()]) {
        assert.ok(isWellKnownIdentityHeader(variant), variant);
      }
    }
  });

  it('lets ordinary headers through', () => {
    for (const name of ['accept', 'cookie', 'x-request-id', 'x-api-key', 'x-auth-token', 'x-csrf-token', 'user-agent', 'x-forwarded-for', 'x-webauthn-challenge', 'remoteaddr', 'x-users-list']) {
      assert.ok(!isWellKnownIdentityHeader(name), name);
    }
  });

  it('adds the configured identity and assertion headers, with "_" and case variants', () => {
    const strip = identityHeaderStripper(['x-team', 'X-My-Proxy-Jwt']);
    for (const name of ['X-Team', 'X_TEAM', 'x_my_proxy_jwt', 'X-MY-PROXY-JWT', 'x-webauth-user']) assert.ok(strip(name), name);
    assert.ok(!strip('x-teams'));
  });

  it('keeps the list in normal form (lower case, "-", letters only in prefixes)', () => {
    for (const name of WELL_KNOWN_IDENTITY_HEADERS) assert.match(name, /^[a-z0-9-]+$/, name);
    for (const prefix of WELL_KNOWN_IDENTITY_PREFIXES) assert.match(prefix, /^[a-z-]+$/, prefix);
    assert.equal(new Set(WELL_KNOWN_IDENTITY_HEADERS).size, WELL_KNOWN_IDENTITY_HEADERS.length);
  });
});
