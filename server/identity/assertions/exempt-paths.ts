/**
 * --auth-exempt: request paths that are served without requiring the assertion (a load
 * balancer's health check cannot log in). Syntax, per entry:
 *   /healthz      exactly this path;
 *   /health/*     /health itself and every path below /health/.
 * Matched against the request path as received (still percent-encoded, case-sensitive), without
 * the query. A path with a `.` or `..` segment, an encoded dot or a backslash never matches, so an
 * exemption cannot be stretched to a path outside it; such a request simply needs the assertion.
 */

export interface ExemptPaths {
  /** The entries as given, for logs and docs. */
  readonly entries: readonly string[];
  matches(path: string): boolean;
}

const MAX_ENTRIES = 64;
const MAX_LENGTH = 1024;
/** Printable ASCII without space, `?`, `#`, `\` and `*`. */
const PATH_CHARS = /^\/[!-~]*$/;
const DOT_SEGMENT = /(?:^|\/)\.{1,2}(?:\/|$)/;
const SUSPICIOUS = /%2e|%2f|%5c|\\/i;

function problemOf(entry: string): string | null {
  if (entry.length > MAX_LENGTH) return `--auth-exempt entries must have at most ${MAX_LENGTH} characters`;
  const base = entry.endsWith('/*') ? entry.slice(0, -2) || '/' : entry;
  if (!PATH_CHARS.test(base) || /[?#\\*]/.test(base)) {
    return `--auth-exempt ${JSON.stringify(entry)} must be a path starting with "/", without white space, "?", "#" or "\\", and with "*" only as a final "/*"`;
  }
  if (DOT_SEGMENT.test(base) || SUSPICIOUS.test(base)) return `--auth-exempt ${JSON.stringify(entry)} must not contain "." or ".." segments or encoded dots and slashes`;
  return null;
}

export const NO_EXEMPT_PATHS: ExemptPaths = Object.freeze({ entries: Object.freeze([]), matches: () => false });

/** Returns the matcher, or the problems with the entries. */
export function parseExemptPaths(entries: readonly string[]): ExemptPaths | string[] {
  const problems: string[] = [];
  if (entries.length > MAX_ENTRIES) problems.push(`at most ${MAX_ENTRIES} --auth-exempt entries`);
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const entry of entries) {
    const problem = problemOf(entry);
    if (problem !== null) {
      problems.push(problem);
      continue;
    }
    if (entry.endsWith('/*')) {
      const base = entry.slice(0, -2);
      if (base === '') return [...problems, '--auth-exempt "/*" would exempt every path; leave the assertion optional instead'];
      exact.add(base);
      prefixes.push(`${base}/`);
    } else {
      exact.add(entry);
    }
  }
  if (problems.length > 0) return problems;
  if (entries.length === 0) return NO_EXEMPT_PATHS;
  return Object.freeze({
    entries: Object.freeze([...entries]),
    matches(requestPath: string): boolean {
      const query = requestPath.indexOf('?');
      const path = query < 0 ? requestPath : requestPath.slice(0, query);
      if (DOT_SEGMENT.test(path) || SUSPICIOUS.test(path)) return false;
      return exact.has(path) || prefixes.some((prefix) => path.startsWith(prefix));
    },
  });
}
