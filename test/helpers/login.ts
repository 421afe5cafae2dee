/** The login form of a running gateway, as a browser posts it (redirects not followed). */
import assert from 'node:assert/strict';
import type { TestGateway } from './gateway.js';

export interface LoginOptions {
  next?: string;
  /** A cookie the browser already holds. */
  cookie?: string;
  headers?: Record<string, string>;
}

/** Posts the login form; returns the answer, its Set-Cookie, the session cookie it set (`name=value`) if any, and the body. */
export async function login(gateway: Pick<TestGateway, 'url'>, username: string, password: string, options: LoginOptions = {}) {
  const body = new URLSearchParams({ username, password, ...(options.next !== undefined ? { next: options.next } : {}) });
  const res = await fetch(`${gateway.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(options.cookie ? { cookie: options.cookie } : {}), ...options.headers },
    body,
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const pair = setCookie.split(';')[0]!;
  return { res, setCookie, cookie: pair.includes('=') && !pair.endsWith('=') ? pair : undefined, text: await res.text() };
}

/** Logs in (asserting the 303 of a success) and returns the session cookie (`name=value`). */
export async function loginCookie(gateway: Pick<TestGateway, 'url'>, username: string, password: string): Promise<string> {
  const { res, cookie } = await login(gateway, username, password);
  assert.equal(res.status, 303);
  assert.ok(cookie, 'a session cookie');
  return cookie;
}
