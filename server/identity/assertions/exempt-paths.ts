/**
 * --auth-exempt: request paths that are served without requiring the assertion (a load
 * balancer's health check cannot log in). Syntax, per entry:
 *   /healthz      exactly this path;
 *   /health/*     /health itself and every path below /health/.
 * Matched against the request path as received (case-sensitive), without the query. Only a plain
 * path can match: letters, digits and `/ _ . ~ -`, with no segment of dots only (`.`, `..`) and
 * no empty one (`//`). Upstreams read paths in many ways (Tomcat takes `/..;/` for `/../`, some decode `%25`
 * twice, ...), and a path that any of them could read as leaving the prefix must not be spared
 * the assertion; refusing every `;`, `%`, `\` and other sign outside that set leaves no such
 * reading. Such a request simply needs the assertion (or, with --require-login, a login).
 */

export interface ExemptPaths {
  /** The entries as given, for logs and docs. */
  readonly entries: readonly string[];
  matches(path: string): boolean;
}

const MAX_ENTRIES = 64;
const MAX_LENGTH = 1024;
const PLAIN_CHARS = /^\/[A-Za-z0-9/_.~-]*$/;
/** A segment of dots only: `.` and `..`, and `...`, which some servers also read as a parent. */
const DOT_SEGMENT = /(?:^|\/)\.+(?:\/|$)/;

/** True when every reading of `path` is the path itself: plain characters, no dot or empty segment. */
function isPlainPath(path: string): boolean {
  return PLAIN_CHARS.test(path) && !DOT_SEGMENT.test(path) && !path.includes('//');
}

function problemOf(entry: string): string | null {
  if (entry.length > MAX_LENGTH) return `--auth-exempt entries must have at most ${MAX_LENGTH} characters`;
  // `/health/*` is checked as `/health/`: the `*` may only be the last character, after a `/`.
  const path = entry.endsWith('/*') ? entry.slice(0, -1) : entry;
  if (isPlainPath(path)) return null;
  return `--auth-exempt ${JSON.stringify(entry)} must be a plain path: "/" and then letters, digits, "/", "_", ".", "~" or "-", without segments of dots only (".", "..") or "//", and with "*" only as a final "/*"`;
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
      if (base === '') {
        problems.push('--auth-exempt "/*" would exempt every path; leave the assertion optional instead');
        continue;
      }
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
      if (!isPlainPath(path)) return false;
      return exact.has(path) || prefixes.some((prefix) => path.startsWith(prefix));
    },
  });
}
