/**
 * Cross-site request refusal for unsafe requests authenticated by what a browser sends on its
 * own (the session cookie, cached Basic credentials, a load balancer's assertion). The session cookie is
 * SameSite=Lax, which keeps it off cross-site subresource requests and form POSTs in current
 * browsers, but not off requests from a sibling subdomain (same site), nor in older browsers
 * that ignore the attribute. A gateway that turned such a request
 * into a signed identity would make every upstream CSRF-able, so an unsafe method authenticated
 * by the cookie must come from this gateway's own origin, or from one of `--allowed-origins`.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Identity } from '../identity/index.js';
import { isUnsafeRequest } from './method-override.js';

/**
 * The credentials a browser sends without the page asking: the session cookie, cached Basic
 * credentials, and a load balancer's assertion (the ALB adds it to every request that carries
 * the ALB's own session cookie, cross-site ones included). A Bearer token is sent only by code
 * that holds it.
 */
const AMBIENT: ReadonlySet<Identity['via']> = new Set<Identity['via']>(['session', 'basic', 'alb', 'trusted-jwt']);

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
 * True when a request must be refused as cross-site: a request a browser may have sent on
 * another site's behalf — authenticated by the session cookie, by Basic credentials the
 * browser cached (browsers add those to another site's form posts on their own), or by a load
 * balancer's assertion (added to whatever the browser sends through it) — that is, or
 * asks the upstream to treat it as, an unsafe method (a method override counts), or opens a
 * WebSocket; and whose Origin or Sec-Fetch-Site says it came from another site. Requests that
 * carry neither header (curl, scripts, servers) are not browser requests and pass.
 */
export function isCrossSiteBrowserRequest(req: Pick<IncomingMessage, 'headers' | 'url' | 'method'>, identity: Pick<Identity, 'via'>, ownOrigin: string, allowedOrigins: ReadonlySet<string>): boolean {
  if (!AMBIENT.has(identity.via)) return false;
  const opensTunnel = req.headers.upgrade !== undefined;
  if (!opensTunnel && !isUnsafeRequest(req)) return false;
  return isCrossSite(req.headers, ownOrigin, allowedOrigins);
}
