/**
 * Small parsers for the assertion options' raw values (flags or JWTGATE_* variables as config.ts
 * reads them). Each returns the value and pushes a problem for bad input, so every problem is
 * reported at once.
 */
import { isLoopbackAddress } from '../../ip-address.js';

/** A repeatable option: an array from a repeated flag (each entry whole), or one string from the environment (see repeatedEntries). */
export type RepeatableValue = string | readonly string[];

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function isLoopbackHostName(host: string): boolean {
  const plain = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return plain === 'localhost' || isLoopbackAddress(plain);
}

/** A non-empty single-line string of bounded length. */
export function text(raw: string, flag: string, problems: string[], maxLength = 512): string {
  const value = raw.trim();
  if (value === '' || value.length > maxLength || CONTROL.test(value)) {
    problems.push(`${flag} must be a non-empty string of at most ${maxLength} characters without control characters, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** A boolean option: true from a flag, or a variable's 1/true/yes/on, 0/false/no/off or empty (any case). config.ts uses it too. */
export function bool(raw: string | boolean, flag: string, problems: string[]): boolean {
  if (typeof raw === 'boolean') return raw;
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(value)) return false;
  problems.push(`${flag} must be true or false (also 1/0, yes/no, on/off; empty is false), got ${JSON.stringify(raw)}`);
  return false;
}

/**
 * The entries of a repeatable option: each flag value whole (an array from repeated flags), or
 * one JWTGATE_* string: one entry per line when it has several lines (for entries with commas or
 * spaces, such as LDAP group DNs), else split at commas and white space. Trimmed, empty ones dropped.
 */
export function repeatedEntries(raw: RepeatableValue | undefined): string[] {
  if (raw === undefined) return [];
  const list = typeof raw !== 'string' ? raw : /[\r\n]/.test(raw) ? raw.split(/\r\n|\r|\n/) : raw.split(/[\s,]+/);
  return list.map((entry) => entry.trim()).filter((entry) => entry !== '');
}

/** A list given as one string separated by commas and/or white space. */
export function words(raw: string): string[] {
  return raw.split(/[\s,]+/).filter((word) => word !== '');
}

/**
 * An absolute URL to fetch keys from: https, or http only on a loopback host (a key fetched in
 * clear can be swapped by anyone on the path, and every signature check with it). No
 * credentials, no fragment. With `placeholder`, `{kid}` must appear in the path or query.
 */
export function keyServerUrl(raw: string, flag: string, problems: string[], placeholder: boolean): URL | null {
  const template = raw.trim();
  const sample = '00000000-0000-4000-8000-000000000000';
  if (placeholder && !template.includes('{kid}')) {
    problems.push(`${flag} must contain the placeholder {kid}, e.g. https://keys.example.com/{kid}`);
    return null;
  }
  let url: URL;
  try {
    url = new URL(template.replaceAll('{kid}', sample));
  } catch {
    problems.push(`${flag} must be an absolute http(s) URL, got ${JSON.stringify(raw)}`);
    return null;
  }
  const where = `${url.username}${url.password}${url.host}`;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHostName(url.hostname))) {
    problems.push(`${flag} must be an https URL (http only on a loopback host), got ${JSON.stringify(raw)}`);
  } else if (url.username !== '' || url.password !== '' || url.hash !== '' || where.includes(sample)) {
    problems.push(`${flag} must not have credentials or a fragment${placeholder ? ', and {kid} must be in its path' : ''}, got ${JSON.stringify(raw)}`);
  } else {
    return url;
  }
  return null;
}
