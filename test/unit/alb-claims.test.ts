/** Claims → jwtgate identity, and the cache of verified assertions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimValue, DEFAULT_CLAIM_MAPPING, mapClaims, type ClaimMapping } from '../../server/identity/assertions/index.js';
import { AssertionCache } from '../../server/identity/assertions/cache.js';

const assertion = (claims: Record<string, unknown>) => ({ claims, expiresAt: Date.now() + 60_000 });
const map = (claims: Record<string, unknown>, over: Partial<ClaimMapping> = {}) => mapClaims(assertion(claims), { ...DEFAULT_CLAIM_MAPPING, ...over }, 'alb');
const refused = { code: 'ERR_INVALID_ASSERTION', status: 401, reason: 'claims' };

describe('mapClaims', () => {
  it('takes the name from sub by default and gives the default role ROLE_USER', () => {
    const identity = map({ sub: 'alice', email: 'alice@example.test', groups: ['admins'] });
    assert.deepEqual({ ...identity, claims: undefined, expiresAt: undefined }, { name: 'alice', roles: ['ROLE_USER'], email: 'alice@example.test', claims: undefined, source: 'alb', expiresAt: undefined });
    assert.ok(Object.isFrozen(identity));
  });

  it('reads roles from a JSON array, or from a string separated by commas (entries trimmed)', () => {
    assert.deepEqual(map({ sub: 'a', roles: ['ROLE_B', 'ROLE_A', 'ROLE_A'] }, { rolesClaim: 'roles' }).roles, ['ROLE_A', 'ROLE_B', 'ROLE_USER']);
    assert.deepEqual(map({ sub: 'a', 'custom:roles': 'ROLE_B,ROLE_A' }, { rolesClaim: 'custom:roles' }).roles, ['ROLE_A', 'ROLE_B', 'ROLE_USER']);
    assert.deepEqual(map({ sub: 'a', groups: ' ROLE_B , ROLE_A,, ROLE_C ' }, { rolesClaim: 'groups' }).roles, ['ROLE_A', 'ROLE_B', 'ROLE_C', 'ROLE_USER']);
    assert.deepEqual(map({ sub: 'a' }, { rolesClaim: 'groups' }).roles, ['ROLE_USER']);
  });

  it('never splits a string claim at white space: "Domain Admins" is one group, and gives nothing that "Admins" is mapped to', () => {
    assert.deepEqual(map({ sub: 'a', groups: 'Domain Admins, Sales' }, { rolesClaim: 'groups' }).roles, ['Domain Admins', 'ROLE_USER', 'Sales']);
    const roleMap = new Map([['Admins', ['ROLE_ADMIN']]]);
    assert.deepEqual(map({ sub: 'a', groups: 'Domain Admins' }, { rolesClaim: 'groups', roleMap }).roles, ['ROLE_USER']);
    assert.deepEqual(map({ sub: 'a', groups: 'Domain Admins,Admins' }, { rolesClaim: 'groups', roleMap }).roles, ['ROLE_ADMIN', 'ROLE_USER']);
  });

  it('without a role map, never passes the gateway\'s own ROLE_ADMIN or ROLE_ANONYMOUS from a claim (in any case); a role map or --default-roles can give them', () => {
    assert.deepEqual(map({ sub: 'a', groups: ['ROLE_ADMIN', 'role_admin', 'ROLE_ANONYMOUS', 'ROLE_REPORTS'] }, { rolesClaim: 'groups' }).roles, ['ROLE_REPORTS', 'ROLE_USER']);
    assert.deepEqual(map({ sub: 'a', groups: 'users, ROLE_ADMIN' }, { rolesClaim: 'groups' }).roles, ['ROLE_USER', 'users']);
    assert.deepEqual(map({ sub: 'a', groups: ['admins'] }, { rolesClaim: 'groups', roleMap: new Map([['admins', ['ROLE_ADMIN']]]) }).roles, ['ROLE_ADMIN', 'ROLE_USER']);
    assert.deepEqual(map({ sub: 'a' }, { defaultRoles: ['ROLE_ADMIN'] }).roles, ['ROLE_ADMIN']);
  });

  it('without a role map, leaves out roles that could pass for another (\\p{Cf}, or changed by NFKC) and look-alikes of the built-in roles (after NFKC, in any case)', () => {
    const passed = (groups: string[]) => map({ sub: 'a', groups }, { rolesClaim: 'groups' }).roles;
    for (const role of ['ROLE_ADMIN\u200b', '\u200bROLE_ADMIN', 'ROLE_\u2060ADMIN', 'ROLE_ADMIN\ufeff', '\u202eNIMDA_ELOR', 'ＲＯＬＥ＿ＡＤＭＩＮ', 'ROLE_ＡＤＭＩＮ', 'ＲＯＬＥ＿ＲＥＰＯＲＴＳ', 'ROLE_ADMıN', 'ROLE_ANONYMOUſ', 'ROLE_ADMIN\u00ad', 'ﬁnance']) {
      assert.deepEqual(passed([role, 'ROLE_REPORTS']), ['ROLE_REPORTS', 'ROLE_USER'], JSON.stringify(role));
    }
    assert.deepEqual(passed(['ROLE_ADMIN_WANNABE', 'Café', 'Ελληνικά', 'RОLE_ADMIN']), ['Café', 'ROLE_ADMIN_WANNABE', 'ROLE_USER', 'RОLE_ADMIN', 'Ελληνικά'], 'composed accents, other scripts and cross-script confusables (Cyrillic О) pass');
    assert.deepEqual(map({ sub: 'a', groups: 'ＲＯＬＥ＿ＡＤＭＩＮ, ops' }, { rolesClaim: 'groups' }).roles, ['ROLE_USER', 'ops'], 'in a string claim too');
    const roleMap = new Map([['Admins\u200b', ['ROLE_OPS']]]);
    assert.deepEqual(map({ sub: 'a', groups: ['Admins\u200b'] }, { rolesClaim: 'groups', roleMap }).roles, ['ROLE_OPS', 'ROLE_USER'], 'a role map matches exactly and gives the roles it names');
  });

  it('with --username-claim email, refuses an address the claims call unverified (email_verified present and not true or "true")', () => {
    const byEmail = { usernameClaim: 'email' };
    for (const email_verified of [false, 'false', 0, 'no', null, 'TRUE']) {
      assert.throws(() => map({ sub: 'x', email: 'ceo@corp.example', email_verified }, byEmail), { code: 'ERR_INVALID_ASSERTION', status: 401, reason: 'unverified-email' }, JSON.stringify(email_verified));
    }
    for (const email_verified of [true, 'true', undefined]) assert.equal(map({ sub: 'x', email: 'ceo@corp.example', email_verified }, byEmail).name, 'ceo@corp.example', JSON.stringify(email_verified));
    assert.equal(map({ sub: 'x', email: 'ceo@corp.example', email_verified: false }).name, 'x', 'another username claim is not concerned');
    assert.equal(map({ sub: 'x', email: 'ceo@corp.example', email_verified: false }).email, undefined, 'but the unverified address is not kept for identity headers');
  });

  it('refuses asserted names that can pass for another: format characters (zero-width, bidi) and text NFKC changes', () => {
    for (const sub of ['admin\u200b', '\u200badmin', 'ad\u200dmin', 'alice\u202egnp.exe', '\ufeffadmin', 'ad\u00admin', 'ａｄｍｉｎ', 'ﬁnance', 'jose\u0301', 'x\u2060y']) {
      assert.throws(() => map({ sub }), refused, JSON.stringify(sub));
    }
    for (const sub of ['José', 'jörg@example.com', '山田', 'evil,admin']) assert.equal(map({ sub }).name, sub, sub);
  });

  it('with a role map, gives only the mapped roles (one group may give several)', () => {
    const roleMap = new Map([['admins', ['ROLE_ADMIN']], ['ops', ['ROLE_OPS', 'ROLE_PAGER']]]);
    const identity = map({ sub: 'a', groups: ['admins', 'ops', 'ROLE_ADMIN_WANNABE', 'unmapped'] }, { rolesClaim: 'groups', roleMap });
    assert.deepEqual(identity.roles, ['ROLE_ADMIN', 'ROLE_OPS', 'ROLE_PAGER', 'ROLE_USER']);
    assert.deepEqual(map({ sub: 'a', groups: ['ROLE_ADMIN'] }, { rolesClaim: 'groups', roleMap }).roles, ['ROLE_USER'], 'an unmapped group named like a role gives nothing');
  });

  it('uses the configured default roles, none included', () => {
    assert.deepEqual(map({ sub: 'a' }, { defaultRoles: ['ROLE_VIEWER', 'ROLE_USER'] }).roles, ['ROLE_USER', 'ROLE_VIEWER']);
    assert.deepEqual(map({ sub: 'a' }, { defaultRoles: [] }).roles, []);
  });

  it('takes the name from another claim, an exact claim name with dots, or a dotted path', () => {
    assert.equal(map({ sub: 'x', preferred_username: 'alice' }, { usernameClaim: 'preferred_username' }).name, 'alice');
    assert.deepEqual(map({ sub: 'a', 'https://example.com/roles': ['ROLE_X'] }, { rolesClaim: 'https://example.com/roles' }).roles, ['ROLE_USER', 'ROLE_X']);
    assert.deepEqual(map({ sub: 'a', realm_access: { roles: ['ROLE_K'] } }, { rolesClaim: 'realm_access.roles' }).roles, ['ROLE_K', 'ROLE_USER']);
    assert.equal(claimValue({ a: { b: 1 } }, 'a.constructor'), undefined, 'only own properties are followed');
    assert.equal(claimValue({}, '__proto__'), undefined);
    assert.equal(claimValue({ 'a.b': 'exact', a: { b: 'path' } }, 'a.b'), 'exact');
  });

  it('refuses an assertion whose name is missing, not a string, or not a valid user name', () => {
    for (const sub of [undefined, 42, ['alice'], '', 'ali:ce', ' alice', 'a\nb', 'x'.repeat(129), 'anonymousUser']) {
      assert.throws(() => map({ sub }), refused, JSON.stringify(sub));
    }
  });

  it('refuses roles that are not strings, or not valid roles, or too many', () => {
    assert.throws(() => map({ sub: 'a', groups: [1, 2] }, { rolesClaim: 'groups' }), refused);
    assert.throws(() => map({ sub: 'a', groups: { admin: true } }, { rolesClaim: 'groups' }), refused);
    assert.throws(() => map({ sub: 'a', groups: ['ROLE\u0000X'] }, { rolesClaim: 'groups' }), refused);
    assert.throws(() => map({ sub: 'a', groups: Array.from({ length: 70 }, (_, i) => `G${i}`) }, { rolesClaim: 'groups' }), refused);
  });

  it('keeps the email only when it is a plain single-line string', () => {
    assert.equal(map({ sub: 'a', email: 'admin@example.com\u200b' }).email, undefined);
    assert.equal(map({ sub: 'a', email: 'ａｄｍｉｎ@example.com' }).email, undefined);
    assert.equal(map({ sub: 'a', email: 'a@b\r\nX-Evil: 1' }).email, undefined);
    assert.equal(map({ sub: 'a', email: ['a@b'] }).email, undefined);
    assert.equal(map({ sub: 'a', email: `${'x'.repeat(400)}@b` }).email, undefined);
  });
});

describe('AssertionCache', () => {
  it('verifies a token once for concurrent callers, answers later calls synchronously, and forgets it at expiry', async () => {
    let now = 1_000_000;
    let calls = 0;
    const cache = new AssertionCache(async (token: string) => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { token, expiresAt: now + 1000 };
    }, { now: () => now });
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.verify('t1')));
    assert.equal(calls, 1);
    assert.ok(results.every((r) => r === results[0]));
    assert.equal(cache.cached('t1'), results[0]);
    now += 1000;
    assert.equal(cache.cached('t1'), undefined);
  });

  it('does not keep failures, keeps at most maxEntries tokens, and at most maxAgeMs', async () => {
    let now = 0;
    let fail = true;
    const cache = new AssertionCache(async (token: string) => {
      if (fail) throw new Error('no');
      return { token, expiresAt: now + 3_600_000 };
    }, { now: () => now, maxEntries: 2, maxAgeMs: 10_000 });
    await assert.rejects(cache.verify('a'));
    fail = false;
    await cache.verify('a');
    await cache.verify('b');
    await cache.verify('c');
    assert.equal(cache.size, 2);
    assert.equal(cache.cached('a'), undefined);
    assert.ok(cache.cached('c'));
    now += 10_000;
    assert.equal(cache.cached('c'), undefined);
  });
});
