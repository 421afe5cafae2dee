/**
 * Where a login sends the browser afterwards (`next`): only a path on this gateway. Anything
 * that a browser could read as another origin (`//evil`, `/\evil`, `https://evil`, their encoded
 * or control-character variants) becomes `/`: no open redirect.
 */
const PROBE_ORIGIN = 'http://jwtgate.invalid';

/** `raw` as a same-origin relative path (path, query, fragment), or `/`. */
export function safeNextPath(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) return '/';
  // A path must start with exactly one "/": "//x" and "/\x" are other hosts to a browser.
  if (raw[0] !== '/' || raw[1] === '/' || raw[1] === '\\') return '/';
  // Browsers drop tabs and newlines and read "\" as "/": refuse anything they would rewrite.
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return '/';
  let url: URL;
  try {
    url = new URL(raw, PROBE_ORIGIN);
  } catch {
    return '/';
  }
  if (url.origin !== PROBE_ORIGIN) return '/';
  const path = url.pathname + url.search + url.hash;
  // The resolved path must itself be safe (e.g. "/%2F%2Fevil" stays a path, "/./" collapses).
  return path.startsWith('//') ? '/' : path;
}
