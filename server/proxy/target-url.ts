/**
 * The proxy target: an absolute http(s) URL, optionally with a base path, without credentials,
 * query or fragment. Requests to /proxy/rest?q go to {origin}{basePath}/rest?q.
 */
import { InvalidTargetUrlError } from '../errors.js';

export interface TargetUrl {
  /** Normalized form, as stored and returned by the admin API (no trailing slash). */
  readonly href: string;
  /** `http(s)://host[:port]`. */
  readonly origin: string;
  /** '' or '/base' (no trailing slash). */
  readonly basePath: string;
}

export const MAX_TARGET_URL_LENGTH = 2048;

export function parseTargetUrl(input: unknown): TargetUrl {
  if (typeof input !== 'string') throw new InvalidTargetUrlError('url must be a string or null');
  if (input.length === 0 || input.length > MAX_TARGET_URL_LENGTH) throw new InvalidTargetUrlError(`url must have 1 to ${MAX_TARGET_URL_LENGTH} characters`);
  if (/[\u0000-\u0020\u007f-\u009f]/.test(input)) throw new InvalidTargetUrlError('url must not contain white space or control characters');
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new InvalidTargetUrlError('url is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidTargetUrlError(`url scheme must be http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (!/^https?:\/\/[^/]/i.test(input)) throw new InvalidTargetUrlError('url must be of the form http(s)://host[:port][/base]');
  if (url.username !== '' || url.password !== '' || /^https?:\/\/[^/]*@/i.test(input)) throw new InvalidTargetUrlError('url must not contain credentials');
  if (input.includes('?')) throw new InvalidTargetUrlError('url must not contain a query');
  if (input.includes('#')) throw new InvalidTargetUrlError('url must not contain a fragment');
  if (url.hostname === '') throw new InvalidTargetUrlError('url must have a host');
  const basePath = url.pathname.replace(/\/+$/, '');
  const href = url.origin + basePath;
  // Normalizing percent-encodes non-ASCII: check the length of what is stored, not of the input.
  if (href.length > MAX_TARGET_URL_LENGTH) throw new InvalidTargetUrlError(`url must have at most ${MAX_TARGET_URL_LENGTH} characters once normalized`);
  return Object.freeze({ href, origin: url.origin, basePath });
}
