/**
 * Validation of user names, roles and passwords, shared by the admin API and the CLI so both
 * write paths enforce the same rules.
 */
import { InvalidInputError } from '../errors.js';
import { ANONYMOUS_NAME } from './identity.js';

export const MAX_NAME_LENGTH = 128;
export const MAX_ROLE_LENGTH = 128;
export const MAX_ROLES = 64;
export const MAX_PASSWORD_LENGTH = 1024;

// C0, DEL and C1 controls, and the Unicode line/paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// Unicode format characters: invisible ones (zero-width space and joiners, U+FEFF, soft hyphen)
// and the bidi controls that make text show in another order than it is (U+202E).
const FORMAT = /\p{Cf}/u;

export function validateUserName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidInputError('user name must be a non-empty string');
  if (name.length > MAX_NAME_LENGTH) throw new InvalidInputError(`user name must have at most ${MAX_NAME_LENGTH} characters`);
  if (CONTROL.test(name)) throw new InvalidInputError('user name must not contain control characters');
  if (name.includes(':')) throw new InvalidInputError('user name must not contain ":" (basic authentication splits on it)');
  if (name.trim() !== name) throw new InvalidInputError('user name must not start or end with white space');
  if (name === ANONYMOUS_NAME) throw new InvalidInputError(`user name ${ANONYMOUS_NAME} is reserved`);
  return name;
}

/**
 * True when `text` looks like what it is: no format character, and unchanged by Unicode
 * compatibility normalization (NFKC), which folds full-width `ａｄｍｉｎ` into `admin`, ligatures into
 * letters and decomposed accents into one character. Text that fails it can pass for another.
 */
export function isUnambiguousText(text: string): boolean {
  return !FORMAT.test(text) && text.normalize('NFKC') === text;
}

/**
 * `text` as compared with a name it may pass for: NFKC-normalized, then case-folded through upper
 * and then lower case, so that the dotless `ı` and the long `ſ` fold with `i` and `s`, as an
 * upstream that upper-cases (or compares ignoring case, as Java's equalsIgnoreCase) reads them.
 * Confusables across scripts (Cyrillic `О` for Latin `O`) are not folded.
 */
export function foldedText(text: string): string {
  return text.normalize('NFKC').toUpperCase().toLowerCase();
}

/**
 * A user name asserted by a load balancer or proxy: a valid user name that also cannot pass for
 * another one (isUnambiguousText): `admin\u200b` and `ａｄｍｉｎ` would show as, and be taken by
 * people and some upstreams for, `admin`. Names an administrator types are left to them.
 */
export function validateAssertedUserName(name: unknown): string {
  const valid = validateUserName(name);
  if (!isUnambiguousText(valid)) throw new InvalidInputError('user name must not contain invisible or formatting characters, or characters that Unicode normalization (NFKC) changes');
  return valid;
}

/** Returns the roles sorted and de-duplicated. */
export function validateRoles(roles: unknown): string[] {
  if (!Array.isArray(roles)) throw new InvalidInputError('roles must be an array of strings');
  if (roles.length > MAX_ROLES) throw new InvalidInputError(`at most ${MAX_ROLES} roles`);
  for (const role of roles) {
    if (typeof role !== 'string' || role.length === 0) throw new InvalidInputError('each role must be a non-empty string');
    if (role.length > MAX_ROLE_LENGTH) throw new InvalidInputError(`each role must have at most ${MAX_ROLE_LENGTH} characters`);
    if (CONTROL.test(role)) throw new InvalidInputError('roles must not contain control characters');
    if (role.includes(',') || role.trim() !== role) throw new InvalidInputError('roles must not contain "," or start or end with white space');
  }
  return [...new Set(roles as string[])].sort();
}

export function validatePassword(password: unknown, minLength: number): string {
  if (typeof password !== 'string') throw new InvalidInputError('password must be a string');
  if ([...password].length < minLength) throw new InvalidInputError(`password must have at least ${minLength} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new InvalidInputError(`password must have at most ${MAX_PASSWORD_LENGTH} characters`);
  if (CONTROL.test(password)) throw new InvalidInputError('password must not contain control characters');
  return password;
}
