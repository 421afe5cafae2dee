/**
 * Header rewriting. Towards the upstream: the client's headers minus hop-by-hop headers (RFC 9110
 * section 7.6.1) and minus everything that carries identity or provenance, which the gateway sets
 * itself (its token, X-Forwarded-*, --identity-header), whatever the configuration. Towards the
 * client: the upstream's headers minus hop-by-hop headers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { setsGatewayCookie, withoutGatewayCookies } from '../sessions/index.js';
import { WELL_KNOWN_IDENTITY_HEADERS, WELL_KNOWN_IDENTITY_PREFIXES } from './identity-header-list.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Set by the gateway, or claims about the client/route that only a proxy may make: never taken from the client. */
const GATEWAY_OWNED = new Set([
  'host', 'authorization', 'proxy-authorization', 'forwarded', 'expect', 'via',
  'x-real-ip', 'x-client-ip', 'true-client-ip', 'x-cluster-client-ip', 'cf-connecting-ip', 'fastly-client-ip', 'client-ip',
  'x-original-url', 'x-rewrite-url', 'x-original-host', 'x-host', 'x-proxyuser-ip', 'x-remote-user', 'remote-user',
  // Identity headers of auth proxies and load balancers, which upstreams commonly trust (identity-header-list.ts).
  ...WELL_KNOWN_IDENTITY_HEADERS,
]);
/** The same by prefix: X-Forwarded-*, and the auth proxies' and load balancers' families (X-Amzn-Oidc-*, X-WEBAUTH-*, ...). */
const GATEWAY_OWNED_PREFIX = new RegExp(`^(?:x-forwarded|${WELL_KNOWN_IDENTITY_PREFIXES.join('|')})`);

function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  const joined = Array.isArray(value) ? value.join(',') : value;
  const tokens = joined.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  return tokens.length > 0 ? new Set(tokens) : null;
}

export interface GatewayHeaders {
  authorization: string;
  forwardedProto: string;
  forwardedHost: string;
  forwardedFor: string;
  /** The full Via value: the client's hops plus ours. */
  via: string;
  /** --identity-header values for this caller, flat [name, value, ...] (none for anonymous callers). */
  identity?: readonly string[];
  /** Lower-case names this deployment sets or reads as identity (--identity-header, --trusted-jwt-header): never taken from the client either. */
  identityNames?: ReadonlySet<string>;
}

/**
 * The lower-case name of a client's header, or null when it is never forwarded whatever the
 * request: hop-by-hop, owned by the gateway (GATEWAY_OWNED and its prefixes), or with "_" (as
 * nginx does: CGI/WSGI servers read X_Forwarded_Host as X-Forwarded-Host, X_WEBAUTH_USER as
 * X-WEBAUTH-USER; so the lists need no "_" variants). Clients send the same few names again and
 * again: the answers are kept per name as sent (bounded, and a name beyond the bound is simply
 * worked out), so the hot path pays one map lookup per header instead of lower-casing and a
 * regular expression.
 */
function clientHeaderName(name: string): string | null {
  const known = NAME_VERDICTS.get(name);
  if (known !== undefined) return known;
  const lower = name.toLowerCase();
  const verdict = lower.includes('_') || HOP_BY_HOP.has(lower) || GATEWAY_OWNED.has(lower) || GATEWAY_OWNED_PREFIX.test(lower) ? null : lower;
  if (NAME_VERDICTS.size < MAX_NAME_VERDICTS && name.length <= MAX_CACHED_NAME_LENGTH) NAME_VERDICTS.set(name, verdict);
  return verdict;
}
const NAME_VERDICTS = new Map<string, string | null>();
/** At most 4096 names of at most 64 characters: 256 KiB whatever clients send. */
const MAX_NAME_VERDICTS = 4096;
const MAX_CACHED_NAME_LENGTH = 64;

/** Framing of a request body: a WebSocket handshake has none, so they never go with one. */
const BODY_FRAMING = new Set(['content-length', 'transfer-encoding']);

/**
 * Flat [name, value, ...] list as undici accepts it, preserving the client's order and repeats.
 * The one header policy of both paths: plain requests and WebSocket handshakes (`upgrade`),
 * which also lose any body framing and get their own Connection/Upgrade pair.
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], connection: string | string[] | undefined, own: GatewayHeaders, options: { upgrade?: boolean } = {}): string[] {
  const listed = connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = clientHeaderName(name);
    if (lower === null || listed?.has(lower) || own.identityNames?.has(lower)) continue;
    if (options.upgrade && BODY_FRAMING.has(lower)) continue;
    if (lower === 'cookie') {
      // The gateway's own session cookie is for the gateway: the client's other cookies pass as they came.
      const kept = withoutGatewayCookies(rawHeaders[i + 1]!);
      if (kept !== null) out.push(name, kept);
      continue;
    }
    out.push(name, rawHeaders[i + 1]!);
  }
  if (options.upgrade) out.push('connection', 'Upgrade', 'upgrade', 'websocket');
  out.push(
    'authorization', own.authorization,
    'x-forwarded-proto', own.forwardedProto,
    'x-forwarded-host', own.forwardedHost,
    'x-forwarded-for', own.forwardedFor,
    'via', own.via,
  );
  if (own.identity !== undefined) for (const part of own.identity) out.push(part);
  return out;
}

/**
 * The upstream's response headers without hop-by-hop ones (undici gives lower-case names), and
 * without any `Set-Cookie` of the gateway's own session cookie: an upstream cannot log the
 * browser in (or out) as someone else.
 */
export function clientResponseHeaders(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const listed = connectionTokens(headers['connection']);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    if (name === 'set-cookie') {
      const kept = (Array.isArray(value) ? value : [value]).filter((cookie) => !setsGatewayCookie(cookie));
      if (kept.length > 0) out[name] = kept;
      continue;
    }
    out[name] = value;
  }
  return out;
}
