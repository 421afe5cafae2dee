/**
 * Maps the raw request target (`/proxy/rest?query`, exactly as the client sent it) to the
 * upstream path under the target's base path. The query is passed byte-for-byte; the path is
 * refused when any common way an upstream reads it (as sent, decoded once or repeatedly, by
 * segments or by a URL parser) leaves the base path.
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

/** One round of percent-decoding, byte by byte, also of `%uXXXX` (JavaScript's unescape, ASP.NET's UrlDecode read it). */
function decodeOnce(s: string): string {
  return s.replace(/%u([0-9a-fA-F]{4})|%([0-9a-fA-F]{2})/g, (_m, wide: string | undefined, hex: string | undefined) => String.fromCharCode(parseInt(wide ?? hex!, 16)));
}

/** Decoding rounds looked at; a path still decoding after them is refused (nobody needs that). */
const DECODING_ROUNDS = 4;

/** One way the upstream may see the path: as sent or decoded `round` times, maybe cut at a NUL. */
interface PathForm {
  text: string;
  round: number;
}

/**
 * The path as the upstream may read it: as sent, then once, twice… decoded; a decoded form is
 * also cut at its first NUL (C strings). Null when it is still decoding after DECODING_ROUNDS.
 */
function pathForms(path: string): PathForm[] | null {
  const forms: PathForm[] = [{ text: path, round: 0 }];
  let current = path;
  for (let round = 1; current.includes('%'); round++) {
    const decoded = decodeOnce(current);
    if (decoded === current) break;
    if (round > DECODING_ROUNDS) return null;
    forms.push({ text: decoded, round });
    const nul = decoded.indexOf('\0');
    if (nul >= 0) forms.push({ text: decoded.slice(0, nul), round });
    current = decoded;
  }
  return forms;
}

/**
 * Reading 1, by segments (what file servers and most routers do): split at `/` and `\`, with
 * and without `;` path parameters (servlet containers read `/..;/x` as `/../x`), white space
 * around a segment ignored (some servers and file systems trim it). True when a `..` ever takes
 * the path above the base's depth (even if later segments come back into it).
 */
function climbsBySegments(form: string, baseDepth: number, withoutParams: boolean): boolean {
  let depth = 0;
  const segments = form.split(/[/\\]/);
  for (let i = 1; i < segments.length; i++) {
    const segment = (withoutParams ? segments[i]!.split(';')[0]! : segments[i]!).trim();
    if (segment === '..') {
      if (--depth < baseDepth) return true;
    } else if (segment !== '.' && segment !== '') {
      // An empty segment (`//`) is no level for posix-style normalisers: counting it would let `//..` pass.
      depth++;
    }
  }
  return false;
}

/** Segments put in front of a path before a URL parser reads it, so that a climb above the root shows. */
const SENTINEL = `/${Array.from({ length: 16 }, (_, i) => `jwtgate-root-${i}`).join('/')}`;

function urlPathname(path: string): string | null {
  try {
    return new URL(SENTINEL + path, 'http://jwtgate.invalid').pathname;
  } catch {
    return null;
  }
}

/**
 * Reading 2, by a WHATWG URL parser (browsers, Node's URL, undici, many frameworks): it also
 * treats `%2e` as a dot, `\` as `/`, drops tabs and newlines anywhere and cuts at `?` and `#`.
 * The real parser is asked, behind 16 sentinel segments, and its answer must still start with
 * them and the base (as the parser reads the base decoded as often).
 */
function climbsForUrlParser(form: PathForm, base: string): boolean {
  const pathname = urlPathname(form.text);
  let baseForm = base;
  for (let i = 0; i < form.round; i++) baseForm = decodeOnce(baseForm);
  const under = urlPathname(baseForm);
  if (pathname === null || under === null) return true;
  return !(pathname === under || pathname.startsWith(under.endsWith('/') ? under : `${under}/`));
}

/**
 * True when some common reading of `path` (the full upstream path, base included) leaves `base`:
 * as sent, or decoded up to DECODING_ROUNDS times, read by segments (with or without `;`
 * parameters) or by a WHATWG URL parser. Also true for a path still decoding after that.
 */
export function leavesBase(path: string, base: string): boolean {
  // No dot and no escape: no reading can produce a `.` or `..` segment.
  if (!/[.%]/.test(path)) return false;
  const forms = pathForms(path);
  // Servlet containers remove `;parameters` BEFORE they decode: `/;%2fx/%2e.` is `//x/..` to them.
  const stripped = path.includes(';') ? pathForms(withoutParams(path)) : [];
  if (forms === null || stripped === null) return true;
  // Counted as climbsBySegments counts: empty segments (`//`) are no level.
  const baseDepth = base.split('/').filter((segment) => segment !== '').length;
  return [...forms, ...stripped].some((form) => climbsBySegments(form.text, baseDepth, false) || climbsBySegments(form.text, baseDepth, true) || climbsForUrlParser(form, base));
}

/** Every segment without its `;parameters`. */
function withoutParams(path: string): string {
  return path.replace(/;[^/\\]*/g, '');
}

/** Path and query to request from the upstream. Throws ForbiddenPathError (400). */
export function upstreamPath(target: TargetUrl, rawUrl: string): string {
  const queryAt = rawUrl.indexOf('?');
  const rest = queryAt < 0 ? rawUrl.slice(PROXY_PREFIX.length) : rawUrl.slice(PROXY_PREFIX.length, queryAt);
  const query = queryAt < 0 ? '' : rawUrl.slice(queryAt);
  // A raw `\` is never valid in a request target; an encoded one (`CORP%5Cjdoe`) is data, and
  // the readings below see what it becomes once decoded.
  if (rest.includes('\\')) throw new ForbiddenPathError('backslashes are not allowed in proxied paths');
  // Node's parser lets `#` through in the request target; upstream URL parsers would cut the path there.
  if (rest.includes('#') || query.includes('#')) throw new ForbiddenPathError('"#" is not allowed in a request target');
  // Never valid in a request target (Node refuses them today); URL parsers trim them, which could
  // turn `%2e%2e ` into `..`: refused here too rather than relying on the parser.
  if (/[\u0000-\u0020\u007f]/.test(rawUrl)) throw new ForbiddenPathError('spaces and control characters are not allowed in a request target');
  const path = target.basePath + rest;
  if (leavesBase(path, target.basePath)) throw new ForbiddenPathError('the path would leave the target\'s base path (dot segments, as sent or decoded)');
  return (path === '' ? '/' : path) + query;
}
