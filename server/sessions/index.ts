export { COOKIE_NAME, SECURE_COOKIE_NAME, GATEWAY_COOKIE_NAMES, cookieName, clearCookieHeader, setCookieHeader, cookieValues, setsGatewayCookie, withoutGatewayCookies, type CookieSettings } from './cookie.js';
export { SESSION_LIST_LIMIT, SessionManager, sessionListLimit, type LiveSession, type SessionManagerOptions, type SessionSettings } from './session-manager.js';
export { sessionCookieSource, type SessionSource, type SessionSourceOptions } from './session-source.js';
export { safeNextPath } from './next-path.js';
export { createLoginRouter, type LoginRouterDeps } from './login-router.js';
export { logoutPage, loginPage, LOGIN_STYLESHEET, LOGIN_STYLESHEET_PATH, PAGE_CSP, escapeHtml } from './login-page.js';
