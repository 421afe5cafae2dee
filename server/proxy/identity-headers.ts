/**
 * Identity headers for upstreams that read the user from a plain header instead of a JWT
 * (Grafana's auth proxy reads X-WEBAUTH-USER), and the list of such headers that a client must
 * never be able to send itself.
 *
 * `--identity-header NAME=FIELD` (repeatable). FIELD is one of:
 *   name          the user name;
 *   roles         the roles, joined with "," (roles never contain one);
 *   email         the asserted `email` claim (absent for users without one);
 *   claim:<name>  any claim of the assertion: a string, a number or boolean (as text), or an
 *                 array of those joined with "," (absent when there is no such claim);
 *                 `claim:email` is also absent when the claims say it is not verified.
 * Values are never altered to fit: a value that is empty, has control characters or white space
 * at either end, has a "," or a Unicode format character in any entry (the name, the email, a
 * role, a claim, an array entry), or is longer than MAX_IDENTITY_HEADER_BYTES once encoded is
 * left out (and reported), never cut. Non-ASCII text is sent as UTF-8 bytes.
 * Nothing is set for anonymous callers: a header-auth upstream would otherwise sign them up as a
 * user named anonymousUser.
 */
import { ANONYMOUS_NAME, claimValue, emailMayBeUsed, headerNameProblem, repeatedEntries } from '../identity/index.js';

export type IdentityField = { readonly kind: 'name' } | { readonly kind: 'roles' } | { readonly kind: 'email' } | { readonly kind: 'claim'; readonly claim: string };

export interface IdentityHeaderSpec {
  /** Lower-case header name. */
  readonly name: string;
  readonly field: IdentityField;
}

export type ParsedIdentityHeaders = { ok: true; headers: readonly IdentityHeaderSpec[] } | { ok: false; problems: string[] };

/** What the values are taken from: any Identity, with claims when it came from an assertion. */
export interface IdentityForHeaders {
  readonly name: string;
  readonly roles: readonly string[];
  readonly email?: string;
  readonly claims?: Readonly<Record<string, unknown>>;
}

export const MAX_IDENTITY_HEADER_BYTES = 4096;
const MAX_IDENTITY_HEADERS = 32;

function fieldOf(text: string): IdentityField | null {
  if (text === 'name' || text === 'roles' || text === 'email') return { kind: text };
  const claim = text.startsWith('claim:') ? text.slice(6).trim() : '';
  if (claim !== '' && claim.length <= 256 && !/[\u0000-\u001f\u007f]/.test(claim)) return { kind: 'claim', claim };
  return null;
}

/** Parses the entries (an array from repeated flags, or one string from the environment: see repeatedEntries). */
export function parseIdentityHeaders(raw: string | readonly string[] | undefined): ParsedIdentityHeaders {
  const list = repeatedEntries(raw);
  const problems: string[] = [];
  const headers: IdentityHeaderSpec[] = [];
  if (list.length > MAX_IDENTITY_HEADERS) problems.push(`at most ${MAX_IDENTITY_HEADERS} --identity-header entries`);
  for (const entry of list) {
    const equals = entry.indexOf('=');
    const name = equals > 0 ? entry.slice(0, equals).trim() : entry;
    const nameProblem = headerNameProblem(name, '--identity-header');
    const field = equals > 0 ? fieldOf(entry.slice(equals + 1).trim()) : null;
    if (nameProblem !== null) problems.push(nameProblem);
    else if (field === null) problems.push(`--identity-header entries are NAME=FIELD with FIELD one of name, roles, email, claim:<claim>, got ${JSON.stringify(entry)}`);
    else if (headers.some((h) => h.name === name.toLowerCase())) problems.push(`--identity-header ${name} is given twice`);
    else headers.push(Object.freeze({ name: name.toLowerCase(), field: Object.freeze(field) }));
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, headers: Object.freeze(headers) };
}

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * The one rule for every entry of every field. A "," is left out because a header can be read as
 * a comma-separated list (RFC 9110 joins repeated fields that way), so `evil,admin` or the valid
 * address `"admin,x"@example.com` could be taken for two values, one of them `admin`. A format
 * character (\p{Cf}: zero-width space and joiners, U+FEFF, bidi controls) is invisible, so
 * `admin\u200b` shows as, and may be taken by an upstream that strips it for, `admin`.
 */
const AMBIGUOUS_ENTRY = /[,\p{Cf}]/u;

/** The entries of a field (joined with "," when there are several), or undefined when there is no value. */
function entriesOf(field: IdentityField, identity: IdentityForHeaders): readonly unknown[] | undefined {
  switch (field.kind) {
    case 'name':
      return [identity.name];
    case 'roles':
      return identity.roles;
    case 'email':
      return identity.email === undefined ? undefined : [identity.email];
    case 'claim': {
      if (identity.claims === undefined) return undefined;
      // The same rule as the email field: an address the claims say is unverified names nobody.
      if (field.claim === 'email' && !emailMayBeUsed(identity.claims)) return undefined;
      const value = claimValue(identity.claims, field.claim);
      return value === undefined ? undefined : Array.isArray(value) ? value : [value];
    }
  }
}

function rawValue(field: IdentityField, identity: IdentityForHeaders): string | undefined {
  const entries = entriesOf(field, identity)?.map(scalar);
  if (entries === undefined || !entries.every((e): e is string => e !== undefined && !AMBIGUOUS_ENTRY.test(e))) return undefined;
  return entries.join(',');
}

/**
 * The value as it goes into the request head: UTF-8 bytes carried in a latin1 string (undici and
 * node:http write header strings as latin1), or undefined when it must be left out.
 */
export function encodeIdentityValue(value: string | undefined): string | undefined {
  if (value === undefined || value === '' || value.trim() !== value || UNSAFE.test(value)) return undefined;
  const bytes = Buffer.from(value, 'utf8');
  return bytes.length > MAX_IDENTITY_HEADER_BYTES ? undefined : bytes.toString('latin1');
}

/** The configured headers for this caller, flat ([name, value, ...]), and the names left out. */
export function identityHeaderValues(specs: readonly IdentityHeaderSpec[], identity: IdentityForHeaders): { headers: string[]; omitted: string[] } {
  const headers: string[] = [];
  const omitted: string[] = [];
  if (specs.length === 0 || identity.name === ANONYMOUS_NAME) return { headers, omitted };
  for (const spec of specs) {
    const value = encodeIdentityValue(rawValue(spec.field, identity));
    if (value === undefined) omitted.push(spec.name);
    else headers.push(spec.name, value);
  }
  return { headers, omitted };
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * identityHeaderValues for the /proxy flow: worked out once per Identity object (the sources hand
 * out the same object for a cached caller), so the hot path pays a WeakMap lookup.
 * `onOmitted` hears of the values left out, once per identity.
 */
export function identityHeaderWriter(specs: readonly IdentityHeaderSpec[], onOmitted?: (name: string, omitted: readonly string[]) => void): (identity: IdentityForHeaders) => readonly string[] {
  if (specs.length === 0) return () => NONE;
  const cache = new WeakMap<IdentityForHeaders, readonly string[]>();
  return (identity) => {
    let headers = cache.get(identity);
    if (headers === undefined) {
      const values = identityHeaderValues(specs, identity);
      if (values.omitted.length > 0) onOmitted?.(identity.name, values.omitted);
      headers = Object.freeze(values.headers);
      cache.set(identity, headers);
    }
    return headers;
  };
}

export { WELL_KNOWN_IDENTITY_HEADERS, WELL_KNOWN_IDENTITY_PREFIXES, isWellKnownIdentityHeader, identityHeaderStripper, normalizeHeaderName } from './identity-header-list.js';
