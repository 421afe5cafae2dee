/**
 * Which request header names may carry identity: the --trusted-jwt-header the gateway reads, and
 * the --identity-header names it sets for header-auth upstreams. Both must be plain names the
 * gateway does not read or set for another purpose.
 */

/** RFC 9110 token characters, without "_" (CGI/WSGI servers read "_" as "-"; nginx drops such names). */
const HEADER_NAME = /^[!#$%&'*+.^`|~0-9A-Za-z-]{1,64}$/;

/** HTTP's own machinery and the headers the gateway sets or reads itself. */
const RESERVED_HEADERS = new Set([
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'host', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'content-length', 'content-type', 'content-encoding', 'expect', 'via', 'forwarded', 'x-forwarded-for',
  'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip',
]);

/** Null when `name` may carry identity; else why not (used for --identity-header and --trusted-jwt-header). */
export function headerNameProblem(name: string, flag: string): string | null {
  if (!HEADER_NAME.test(name)) return `${flag} must be a header name (letters, digits, "-"; no "_"; at most 64), got ${JSON.stringify(name)}`;
  if (RESERVED_HEADERS.has(name.toLowerCase())) return `${flag} cannot be ${name.toLowerCase()}: the gateway reads or sets it itself`;
  return null;
}
