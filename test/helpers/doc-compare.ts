/**
 * Compares the output a doc shows with the output a command printed: both normalised (what
 * legitimately varies from run to run), line by line, `...` standing for any number of lines.
 * On a mismatch, a diff that names the doc's lines: `-` what the doc says, `+` what was printed.
 */
import type { DocLine } from './console-blocks.js';

/** What varies between runs, replaced by a placeholder on both sides (docs/testing.md lists them). */
const NORMALISERS: readonly [RegExp, string][] = [
  [/eyJ[\w-]*\.eyJ[\w-]*\.[\w-]+/g, '<jwt>'],
  [/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, '<time>'],
  [/\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT/g, '<date>'],
  [/"pid":\d+/g, '"pid":<pid>'],
  [/(generated password: )[\w-]+/g, '$1<password>'],
  [/\bjwtgate-[0-9a-f]{12}\b/g, 'jwtgate-<deployment>'],
  [/\bcurl\/[\d.]+/g, 'curl/<version>'],
  [/"cli:[^"]*"/g, '"cli:<os user>"'],
  [/("(?:iat|nbf|exp)":\s*)\d{9,11}\b/g, '$1<seconds>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<uuid>'],
  [/\b\d+(?:\.\d+)? ms\b/g, '<n> ms'],
  // Last: a kid is 43 base64url characters (an RFC 7638 thumbprint), anywhere.
  [/(?<![\w-])[\w-]{43}(?![\w-])/g, '<kid>'],
];

export function normalise(line: string): string {
  let out = line.replace(/\r$/, '').trimEnd();
  for (const [pattern, placeholder] of NORMALISERS) out = out.replace(pattern, placeholder);
  return out;
}

export const ELLIPSIS = '...';

type Step = { op: 'same' | 'doc' | 'actual'; doc?: DocLine; actual?: string } | { op: 'elided'; count: number };

/**
 * The cheapest alignment of the doc's lines with the printed ones: equal lines cost nothing, a
 * `...` absorbs any run of printed lines for free, every other line costs 1. Zero means a match.
 */
function align(expected: readonly DocLine[], actual: readonly string[]): { cost: number; steps: Step[] } {
  const e = expected.map((l) => (l.text === ELLIPSIS ? null : normalise(l.text)));
  const a = actual.map(normalise);
  const n = e.length;
  const m = a.length;
  // cost[i][j]: aligning expected[i..] with actual[j..].
  const cost = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n; i >= 0; i--) {
    for (let j = m; j >= 0; j--) {
      if (i === n) cost[i]![j] = m - j;
      else if (e[i] === null) cost[i]![j] = Math.min(cost[i + 1]![j]!, j < m ? cost[i]![j + 1]! : Infinity);
      else if (j === m) cost[i]![j] = cost[i + 1]![j]! + 1;
      else cost[i]![j] = Math.min(e[i] === a[j] ? cost[i + 1]![j + 1]! : Infinity, cost[i + 1]![j]! + 1, cost[i]![j + 1]! + 1);
    }
  }
  const steps: Step[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    const here = cost[i]![j]!;
    if (i < n && e[i] === null) {
      let k = j;
      while (cost[i + 1]![k] !== here) k++;
      if (k > j) steps.push({ op: 'elided', count: k - j });
      i++;
      j = k;
    } else if (i < n && j < m && e[i] === a[j] && cost[i + 1]![j + 1] === here) steps.push({ op: 'same', doc: expected[i++]!, actual: actual[j++]! });
    else if (i < n && cost[i + 1]![j]! + 1 === here) steps.push({ op: 'doc', doc: expected[i++]! });
    else steps.push({ op: 'actual', actual: actual[j++]! });
  }
  return { cost: cost[0]![0]!, steps };
}

/** null when the printed lines match the doc's; otherwise the diff, one line per step. */
export function compareLines(file: string, expected: readonly DocLine[], printed: readonly string[]): string | null {
  // Trailing blank lines are layout in a doc (the parser drops them there): not counted here either.
  const actual = [...printed];
  while (actual.length > 0 && normalise(actual.at(-1)!) === '') actual.pop();
  const { cost, steps } = align(expected, actual);
  if (cost === 0) return null;
  const width = Math.max(8, ...expected.map((l) => `${file}:${l.line}`.length));
  return steps
    .map((s) => {
      if (s.op === 'elided') return `  ${'...'.padEnd(width)}  (${s.count} line${s.count === 1 ? '' : 's'})`;
      if (s.op === 'same') return `  ${`${file}:${s.doc!.line}`.padEnd(width)}  ${s.doc!.text}`;
      if (s.op === 'doc') return `- ${`${file}:${s.doc!.line}`.padEnd(width)}  ${s.doc!.text}`;
      return `+ ${'printed'.padEnd(width)}  ${s.actual}`;
    })
    .join('\n');
}
