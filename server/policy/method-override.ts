/**
 * Method overrides: many frameworks let a request name another method than its own in a header
 * (`X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override`) or a `_method` query
 * parameter (e.g. Express's method-override, which accepts any method). The gateway refuses
 * TRACE, so it refuses the overrides that would turn a request into one at the upstream.
 * Other overrides pass: clients that cannot send PATCH or DELETE rely on them.
 */
import type { IncomingMessage } from 'node:http';

export const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;

/** Echoing methods: TRACE (RFC 9110) and Microsoft's TRACK, as a word (`TRACE\0` and `GET, TRACE` too). */
const ECHOING = /(?:^|[^a-z])(?:trace|track)(?:$|[^a-z])/i;

/** `_method=` in the query, in any case and percent-encoding of the name or the value. */
function queryOverride(url: string): string | null {
  const at = url.indexOf('?');
  if (at < 0 || !/_method|%5f/i.test(url)) return null;
  const values: string[] = [];
  // `;` separates parameters too for some parsers (Python's parse_qs before 3.9.2, Rack before 3).
  for (const pair of url.slice(at + 1).split(/[&;]/)) {
    const eq = pair.indexOf('=');
    let name = eq < 0 ? pair : pair.slice(0, eq);
    let value = eq < 0 ? '' : pair.slice(eq + 1);
    try {
      name = decodeURIComponent(name.replace(/\+/g, ' '));
      value = decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      // not decodable: a framework would not read it as an override either
    }
    // `_method[]` is an array of one to PHP- and Rack-style parsers.
    if (name.toLowerCase().replace(/\[\]$/, '') === '_method') values.push(value);
  }
  return values.length > 0 ? values.join(',') : null;
}

/** Every override the request carries (headers and query), joined; '' when none. */
function overridesOf(req: Pick<IncomingMessage, 'headers' | 'url'>): string {
  const found: string[] = [];
  for (const name of METHOD_OVERRIDE_HEADERS) {
    const value = req.headers[name];
    if (value !== undefined) found.push(Array.isArray(value) ? value.join(',') : value);
  }
  const fromQuery = queryOverride(req.url ?? '');
  if (fromQuery !== null) found.push(fromQuery);
  return found.join(',');
}

/** True when a header or the query asks the upstream to treat the request as TRACE or TRACK. */
export function overridesToTrace(req: Pick<IncomingMessage, 'headers' | 'url'>): boolean {
  const overrides = overridesOf(req);
  return overrides !== '' && ECHOING.test(overrides);
}

/** The methods that change nothing (RFC 9110 safe methods). */
const SAFE = new Set(['get', 'head', 'options']);

/**
 * True when the request is, or asks the upstream to treat it as, a method that may change
 * something: what the cross-site check must look at (a GET with `_method=DELETE` is a DELETE to
 * an upstream that honours overrides).
 */
export function isUnsafeRequest(req: Pick<IncomingMessage, 'headers' | 'url' | 'method'>): boolean {
  if (!SAFE.has((req.method ?? 'GET').toLowerCase())) return true;
  const overrides = overridesOf(req);
  return overrides !== '' && overrides.split(/[^a-z]+/i).some((word) => word !== '' && !SAFE.has(word.toLowerCase()));
}
