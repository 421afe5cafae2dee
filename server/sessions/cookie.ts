/**
 * The session cookie: `<secret id>.<session id>.<signature>`, the id 256 random bits, the
 * signature an HMAC-SHA256 under a session secret held in the store (several, so the newest signs
 * and the older ones still verify until they retire: rotation logs nobody out). The id itself is
 * never stored: the store keys sessions by its SHA-256.
 *
 * Name and attributes: `jwtgate_session`, `Path=/; HttpOnly; SameSite=Lax`; with an https public
 * URL (or --cookie-secure) `Secure` and the `__Host-` prefix, which also stops a sibling
 * subdomain from planting ("tossing") a cookie of that name.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const COOKIE_NAME = 'jwtgate_session';
export const SECURE_COOKIE_NAME = `__Host-${COOKIE_NAME}`;
/** Both names are the gateway's own, whichever it uses: neither ever reaches an upstream. */
export const GATEWAY_COOKIE_NAMES: ReadonlySet<string> = new Set([COOKIE_NAME, SECURE_COOKIE_NAME]);

const ID_BYTES = 32;
const VALUE = /^([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/;

export interface SessionSecretKey {
  id: string;
  /** 32 random bytes. */
  key: Buffer;
}

export interface CookieSettings {
  secure: boolean;
  /** Max-Age of the cookie, seconds (the session's absolute lifetime). */
  maxAgeSeconds: number;
}

export function cookieName(secure: boolean): string {
  return secure ? SECURE_COOKIE_NAME : COOKIE_NAME;
}

/** A new session id (base64url of 256 random bits). */
export function newSessionId(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

/** What the store keys a session by: never the id itself. */
export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

function sign(secret: SessionSecretKey, id: string): string {
  return createHmac('sha256', secret.key).update(`${secret.id}.${id}`).digest('base64url');
}

export function encodeCookieValue(secret: SessionSecretKey, id: string): string {
  return `${secret.id}.${id}.${sign(secret, id)}`;
}

/** The session id of a well-formed value signed by one of `secrets`, else null. */
export function decodeCookieValue(value: string, secrets: ReadonlyMap<string, SessionSecretKey>): string | null {
  const m = VALUE.exec(value);
  if (!m) return null;
  const secret = secrets.get(m[1]!);
  if (!secret) return null;
  const expected = Buffer.from(sign(secret, m[2]!));
  const given = Buffer.from(m[3]!);
  return expected.length === given.length && timingSafeEqual(expected, given) ? m[2]! : null;
}

/** The values of cookie `name` in a Cookie header (or several), in order. */
export function cookieValues(header: string | string[] | undefined, name: string): string[] {
  if (header === undefined) return [];
  const values: string[] = [];
  for (const line of Array.isArray(header) ? header : [header]) {
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
      values.push(pair.slice(eq + 1).trim());
    }
  }
  return values;
}

export function setCookieHeader(name: string, value: string, settings: CookieSettings): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${settings.maxAgeSeconds}${settings.secure ? '; Secure' : ''}`;
}

export function clearCookieHeader(name: string, secure: boolean, scope: { domain?: string; path?: string } = {}): string {
  return `${name}=; Path=${scope.path ?? '/'}${scope.domain === undefined ? '' : `; Domain=${scope.domain}`}; HttpOnly; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`;
}

/** A path segment a Set-Cookie Path may carry as it is (RFC 6265 path-value: no ';', no controls). */
const PATH_SEGMENT = /^[A-Za-z0-9._~!$&'()*+,=:@%-]+$/;
const HOST_NAME = /^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/;
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;
/** Bounds of the clearing: the request path's first 4 prefixes, the host's 3 nearest parent domains. */
const MAX_PATH_PREFIXES = 4;
const MAX_PARENT_DOMAINS = 3;

/**
 * The Set-Cookie lines that clear cookie `name` wherever a sibling subdomain could have planted
 * it for this request ("cookie tossing"): a browser holds one cookie per name, domain and path,
 * and sends the most specific path first. Without the `__Host-` prefix (http), a page on
 * evil.example.com may set `jwtgate_session` for `Domain=example.com; Path=/proxy`, which a
 * plain `Path=/` clear never removes: the user would get 401 on every request. So the clear
 * covers Path=/ and the request path's prefixes, host-only and for each parent domain of the
 * host (not for an IP address, nor the last label alone). With `__Host-` there is one place only.
 */
export function clearPlantedCookieHeaders(name: string, secure: boolean, request: { host: string | undefined; path: string }): string[] {
  if (name.startsWith('__Host-')) return [clearCookieHeader(name, secure)];
  const paths = ['/'];
  const pathname = request.path.split(/[?#]/, 1)[0]!;
  let prefix = '';
  for (const segment of pathname.split('/').slice(1, 1 + MAX_PATH_PREFIXES)) {
    if (!PATH_SEGMENT.test(segment)) break;
    prefix += `/${segment}`;
    paths.push(prefix);
  }
  const domains: (string | undefined)[] = [undefined];
  const host = (request.host ?? '').toLowerCase().replace(/:\d+$/, '');
  if (HOST_NAME.test(host) && !IPV4.test(host)) {
    const labels = host.split('.');
    for (let i = 1; i <= MAX_PARENT_DOMAINS && labels.length - i >= 2; i++) domains.push(labels.slice(i).join('.'));
  }
  return domains.flatMap((domain) => paths.map((path) => clearCookieHeader(name, secure, domain === undefined ? { path } : { domain, path })));
}

/**
 * A Cookie header without the gateway's own cookies; the client's other cookies pass as they
 * came (same text, same order). Null when nothing is left.
 */
export function withoutGatewayCookies(line: string): string | null {
  if (!line.includes(COOKIE_NAME)) return line;
  const kept = line.split(';').filter((pair) => {
    const eq = pair.indexOf('=');
    return !GATEWAY_COOKIE_NAMES.has((eq < 0 ? pair : pair.slice(0, eq)).trim());
  });
  if (kept.length === 0) return null;
  return kept.map((pair, i) => (i === 0 ? pair.trimStart() : pair)).join(';');
}

/** True for a Set-Cookie line that sets one of the gateway's own cookies (names compared without case, as browsers compare the __Host- prefix). */
export function setsGatewayCookie(setCookie: string): boolean {
  const eq = setCookie.indexOf('=');
  const name = (eq < 0 ? setCookie : setCookie.slice(0, eq)).trim().toLowerCase();
  return name === COOKIE_NAME || name === SECURE_COOKIE_NAME.toLowerCase();
}
