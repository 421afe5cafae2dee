/**
 * An independent oracle for the path rules (deliberately not the server's code): what an
 * upstream URL parser could make of a forwarded path after repeated percent-decoding.
 */

/** One round of byte-wise percent-decoding (latin1: every ASCII byte decodes to itself). */
export function decodeOnce(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** `s` and its successive percent-decodings, up to 5 rounds. */
export function decodings(s: string): string[] {
  const forms = [s];
  for (let i = 0; i < 5; i++) {
    const next = decodeOnce(forms[forms.length - 1]!);
    if (next === forms[forms.length - 1]) break;
    forms.push(next);
  }
  return forms;
}

export const hasDotSegment = (path: string) => path.split(/[/\\]/).some((seg) => seg === '.' || seg === '..');

/** True when `path` is `base` or below it (`base/...`). */
export const isUnder = (path: string, base: string) => path === base || path.startsWith(`${base}/`);
