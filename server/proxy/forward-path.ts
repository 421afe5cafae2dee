/**
 * Maps the raw request target (`/proxy/rest?query`, exactly as the client sent it) to the
 * upstream path under the target's base path. The query is passed byte-for-byte; the path is
 * refused when any decoding of it could climb above the base path (dot segments, encoded or
 * double-encoded, with either slash).
 */
import { ForbiddenPathError } from '../errors.js';
import type { TargetUrl } from './target-url.js';

export const PROXY_PREFIX = '/proxy';

/** True for `/proxy`, `/proxy/...` and `/proxy?...`, not for `/proxyfoo`. */
export function isProxyPath(rawUrl: string): boolean {
  if (!rawUrl.startsWith(PROXY_PREFIX)) return false;
  const next = rawUrl.charCodeAt(PROXY_PREFIX.length);
  return Number.isNaN(next) || next === 0x2f /* / */ || next === 0x3f /* ? */;
}

function decodeOnce(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * True when some decoding of `path` contains a `.` or `..` segment, also once `;` path
 * parameters are removed (servlet containers read `/..;/x` as `/../x`).
 */
export function hasDotSegment(path: string): boolean {
  let current = path;
  for (let i = 0; i < 4; i++) {
    if (current.split(/[/\\]/).some((segment) => {
      const bare = segment.split(';')[0];
      return bare === '.' || bare === '..';
    })) return true;
    if (!current.includes('%')) return false;
    const decoded = decodeOnce(current);
    if (decoded === current) return false;
    current = decoded;
  }
  return true; // still decoding after 4 rounds: nobody needs that, refuse
}

/** Path and query to request from the upstream. Throws ForbiddenPathError (400). */
export function upstreamPath(target: TargetUrl, rawUrl: string): string {
  const queryAt = rawUrl.indexOf('?');
  const rest = queryAt < 0 ? rawUrl.slice(PROXY_PREFIX.length) : rawUrl.slice(PROXY_PREFIX.length, queryAt);
  const query = queryAt < 0 ? '' : rawUrl.slice(queryAt);
  if (rest.includes('\\') || /%5c/i.test(rest)) throw new ForbiddenPathError('backslashes are not allowed in proxied paths');
  // Node's parser lets `#` through in the request target; upstream URL parsers would cut the path there.
  if (rest.includes('#') || query.includes('#')) throw new ForbiddenPathError('"#" is not allowed in a request target');
  // Never valid in a request target (Node refuses them today); URL parsers trim them, which could
  // turn `%2e%2e ` into `..`: refused here too rather than relying on the parser.
  if (/[\u0000-\u0020\u007f]/.test(rawUrl)) throw new ForbiddenPathError('spaces and control characters are not allowed in a request target');
  if (hasDotSegment(rest)) throw new ForbiddenPathError('dot segments are not allowed in proxied paths');
  const path = target.basePath + rest;
  return (path === '' ? '/' : path) + query;
}
