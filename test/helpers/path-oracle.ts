/**
 * An independent oracle for the path rules (deliberately not the server's code): the ways an
 * upstream commonly reads a forwarded path, and whether each reading stays under the base path.
 *
 * Readings of a path p: p as sent, and p percent-decoded 1…5 times (byte-wise, and with
 * decodeURIComponent where it succeeds); each read by segments (posix normalisation with `\`
 * as `/`, with and without `;` parameters, with segments trimmed of white space, and cut at a
 * NUL as C code would) and by a WHATWG URL parser (`new URL(form, base).pathname`).
 */
import path from 'node:path';

/** One round of byte-wise percent-decoding (latin1: every ASCII byte decodes to itself). */
export function decodeOnce(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** One round of JavaScript's `unescape` (also `%uXXXX`), as some upstreams (ASP.NET's UrlDecode too) decode. */
const unescapeOnce = (s: string) => unescape(s);

/** `s` and its successive decodings by `decode`, up to 5 rounds. */
function successive(s: string, decode: (s: string) => string): string[] {
  const forms = [s];
  for (let i = 0; i < 5; i++) {
    const next = decode(forms[forms.length - 1]!);
    if (next === forms[forms.length - 1]) break;
    forms.push(next);
  }
  return forms;
}

/** `s` and its successive percent-decodings, up to 5 rounds. */
export function decodings(s: string): string[] {
  return successive(s, decodeOnce);
}

/** `s` decoded with decodeURIComponent (UTF-8) as long as it changes and succeeds, up to 5 rounds. */
function uriDecodings(s: string): string[] {
  const forms: string[] = [];
  let current = s;
  for (let i = 0; i < 5; i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      break;
    }
    if (next === current) break;
    forms.push(next);
    current = next;
  }
  return forms;
}

/** True when `p` is `base` or below it (`base/...`); every absolute path is under the empty base. */
export const isUnder = (p: string, base: string) => (base === '' ? p.startsWith('/') : p === base || p.startsWith(`${base}/`));

/** Every reading of `forwarded` (a path without query) an upstream commonly makes, each as the path it resolves to. */
export function readings(forwarded: string): { how: string; path: string }[] {
  const out: { how: string; path: string }[] = [];
  const forms = [
    ...decodings(forwarded).map((f, i) => ({ how: i === 0 ? 'as sent' : `decoded ${i}x`, f })),
    ...uriDecodings(forwarded).map((f, i) => ({ how: `decodeURIComponent ${i + 1}x`, f })),
    ...successive(forwarded, unescapeOnce).slice(1).map((f, i) => ({ how: `unescape ${i + 1}x`, f })),
  ];
  for (const { how, f } of forms) {
    const bySegments = (text: string) => path.posix.normalize(`/${text.replace(/\\/g, '/')}`);
    out.push({ how: `${how}, by segments`, path: bySegments(f) });
    out.push({ how: `${how}, by segments without ;params`, path: bySegments(f.split(/([/\\])/).map((seg) => seg.split(';')[0]).join('')) });
    out.push({ how: `${how}, by trimmed segments`, path: bySegments(f.split(/([/\\])/).map((seg) => seg.trim()).join('')) });
    if (f.includes('\u0000')) out.push({ how: `${how}, cut at NUL`, path: bySegments(f.slice(0, f.indexOf('\u0000'))) });
    let parsed: string | null = null;
    for (const parse of [() => new URL(f, 'http://up.test'), () => new URL(`http://up.test${f}`)]) {
      try {
        parsed = parse().pathname;
        break;
      } catch {
        // `//` first: not a path for the reference parser; read as an origin-form target
      }
    }
    out.push({ how: `${how}, WHATWG URL parser`, path: parsed ?? '(unparsable)' });
  }
  return out;
}

/** The readings of `forwarded` that leave `base` (empty: the path is safe for every reading). */
export function readingsLeavingBase(forwarded: string, base: string): string[] {
  return readings(forwarded)
    .filter((r) => !isUnder(r.path, base))
    .map((r) => `${r.how}: ${JSON.stringify(r.path)}`);
}
