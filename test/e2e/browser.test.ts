/**
 * A real browser: Debian's headless Chromium, driven by playwright-core (never a downloaded
 * browser). Anonymous first, then the login form, the user's name and roles through /proxy, the
 * logout page, anonymous again.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { adminJson, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startExample, type TestUpstream } from '../helpers/upstream.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
/** CI installs chromium; locally, without it, the test says so instead of failing. */
const missing = !fs.existsSync(CHROMIUM) && !process.env['CI'] ? `SKIPPED: ${CHROMIUM} is missing (Debian: apt-get install chromium; .ci/run installs it)` : false;

describe('a real browser logs in and out', { skip: missing }, () => {
  let gateway: TestGateway;
  let upstream: TestUpstream;
  let browser: Browser;
  before(async () => {
    gateway = await startGateway();
    upstream = await startExample('node-zero-deps', { JWKS_URL: `${gateway.url}/.well-known/jwks.json` });
    await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
    await adminJson(gateway, 'PUT', '/admin/users/alice', { password: 'alice-password-1', roles: ['ROLE_USER', 'ROLE_WONDERLAND'] });
    // playwright-core gives every launch a fresh, empty profile of its own.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  after(async () => {
    await browser?.close();
    await upstream?.stop();
    await gateway?.stop();
  });

  it('anonymous, then logged in through the form (name and roles at the upstream), then logged out', async () => {
    const page = await (await browser.newContext()).newPage();
    const whoami = `${gateway.url}/proxy/whoami?mode=jwt`;
    const read = async () => JSON.parse((await page.locator('body').innerText()).trim()) as { name: string; roles: string[] };

    await page.goto(whoami);
    assert.deepEqual(await read(), { name: 'anonymousUser', roles: ['ROLE_ANONYMOUS'] });

    await page.goto(`${gateway.url}/login?next=${encodeURIComponent('/proxy/whoami?mode=jwt')}`);
    await page.fill('#username', 'alice');
    await page.fill('#password', 'wrong-password');
    await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
    assert.match(await page.locator('.error').innerText(), /Invalid user name or password/);
    assert.equal(await page.inputValue('#username'), 'alice', 'the name stays, the password does not');
    assert.equal(await page.inputValue('#password'), '');

    await page.fill('#password', 'alice-password-1');
    await Promise.all([page.waitForURL(whoami), page.click('button[type=submit]')]);
    assert.deepEqual(await read(), { name: 'alice', roles: ['ROLE_USER', 'ROLE_WONDERLAND'] });
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'jwtgate_session');
    assert.ok(session && session.httpOnly && session.sameSite === 'Lax', JSON.stringify(cookies));
    assert.equal(await page.evaluate('document.cookie'), '', 'HttpOnly: scripts cannot read it');

    await page.goto(`${gateway.url}/logout`);
    await Promise.all([page.waitForURL(`${gateway.url}/login`), page.click('button[type=submit]')]);
    await page.goto(whoami);
    assert.deepEqual(await read(), { name: 'anonymousUser', roles: ['ROLE_ANONYMOUS'] });
  });
});
