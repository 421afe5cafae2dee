/**
 * Cross-site request refusal for cookie-authenticated unsafe requests. The session cookie is
 * SameSite=Lax, which keeps it off cross-site subresource requests and form POSTs in current
 * browsers, but not off requests from a sibling subdomain (same site), nor in older browsers
 * that ignore the attribute. A gateway that turned such a request
 * into a signed identity would make every upstream CSRF-able, so an unsafe method authenticated
 * by the cookie must come from this gateway's own origin, or from one of `--allowed-origins`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Identity } from '../identity/index.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isUnsafeMethod(method: string | undefined): boolean {
  return !SAFE_METHODS.has((method ?? 'GET').toUpperCase());
}

/**
 * True when the request comes from another site: its `Origin` is neither `ownOrigin` nor an
 * allowed one (`Origin: null` — sandboxed frames, some redirects — counts as another site), or
 * the browser says `Sec-Fetch-Site: cross-site` (or `same-site`: a sibling subdomain is another
 * site for this purpose) without an allowed Origin.
 */
export function isCrossSite(headers: IncomingHttpHeaders, ownOrigin: string, allowedOrigins: ReadonlySet<string>): boolean {
  const origin = headers.origin;
  if (origin !== undefined) {
    const value = Array.isArray(origin) ? origin[0]! : origin;
    return !(value === ownOrigin || allowedOrigins.has(value));
  }
  const site = headers['sec-fetch-site'];
  return site === 'cross-site' || site === 'same-site';
}

/**
 * True when a request must be refused as cross-site: an unsafe method, authenticated by the
 * session cookie, from another site. (Basic and Bearer are not sent by a browser on its own.)
 */
export function isCrossSiteCookieRequest(method: string | undefined, headers: IncomingHttpHeaders, identity: Pick<Identity, 'via'>, ownOrigin: string, allowedOrigins: ReadonlySet<string>): boolean {
  return identity.via === 'session' && isUnsafeMethod(method) && isCrossSite(headers, ownOrigin, allowedOrigins);
}
