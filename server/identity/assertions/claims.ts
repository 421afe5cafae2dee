/**
 * From the claims of a verified assertion to a jwtgate identity: a user name from one claim,
 * roles from another (a JSON array, or one string separated by commas), optionally translated by
 * a role map, plus the default roles. Names and roles obey the same rules as users created by an
 * administrator (names.ts), and an asserted name must moreover not pass for another one; an
 * assertion that does not map to a valid name is refused (401), never turned into someone else.
 */
import { GatewayError, InvalidAssertionError } from '../../errors.js';
import { foldedText, isUnambiguousText, validateAssertedUserName, validateRoles } from '../names.js';
import { ROLE_ADMIN, ROLE_ANONYMOUS, ROLE_USER } from '../identity.js';
import type { VerifiedAssertion } from './alb-token.js';

export interface ClaimMapping {
  /** Claim holding the user name (`sub`, `email`, `preferred_username`, ...). */
  readonly usernameClaim: string;
  /** Claim holding the user's groups or roles; none when null. */
  readonly rolesClaim: string | null;
  /**
   * IdP group → jwtgate roles. When set, it is an allow-list: only mapped groups give roles.
   * When null, the claim's values are taken as jwtgate roles as they are, except the gateway's
   * own ROLE_ADMIN and ROLE_ANONYMOUS (see BUILT_IN_ROLES).
   */
  readonly roleMap: ReadonlyMap<string, readonly string[]> | null;
  /** Given to every asserted user, in addition to the mapped roles. */
  readonly defaultRoles: readonly string[];
}

export const DEFAULT_CLAIM_MAPPING: ClaimMapping = Object.freeze({
  usernameClaim: 'sub',
  rolesClaim: null,
  roleMap: null,
  defaultRoles: Object.freeze([ROLE_USER]),
});

export type AssertionSourceKind = 'alb' | 'trusted-jwt';

export interface AssertedIdentity {
  readonly name: string;
  /** Sorted, unique. */
  readonly roles: readonly string[];
  /** The `email` claim, when it is a plain string and not said to be unverified. */
  readonly email?: string;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly source: AssertionSourceKind;
  /** ms since epoch. */
  readonly expiresAt: number;
}

const MAX_EMAIL_LENGTH = 320;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * Roles that mean something to the gateway and its upstreams whoever holds them (the
 * administrator; the anonymous caller). An IdP group of that name is not given as such without a
 * role map: any group an IdP lets users create or join could be called ROLE_ADMIN. Compared
 * after NFKC and in any case (foldedText). With a role map they are given only when mapped, like
 * every other role.
 */
const BUILT_IN_ROLES = new Set([ROLE_ADMIN, ROLE_ANONYMOUS].map(foldedText));

/**
 * Without a role map, which IdP groups are given as roles: not a built-in role, and nothing that
 * could pass for another role (isUnambiguousText): `ROLE_ADMIN\u200b` or full-width `ＲＯＬＥ＿ＡＤＭＩＮ`
 * is not the gateway's ROLE_ADMIN, but an upstream that strips invisible characters or
 * normalizes role names would read it as that. Left out, not refused: the user still logs in.
 */
function passThroughRole(group: string): boolean {
  return isUnambiguousText(group) && !BUILT_IN_ROLES.has(foldedText(group));
}

function ownValue(container: unknown, key: string): unknown {
  if (typeof container !== 'object' || container === null || Array.isArray(container)) return undefined;
  return Object.hasOwn(container, key) ? (container as Record<string, unknown>)[key] : undefined;
}

/**
 * A claim by its exact name (`custom:roles`, `https://example.com/roles`); when there is none and
 * the name has dots, the path through nested objects (`realm_access.roles`).
 */
export function claimValue(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  const exact = ownValue(claims, name);
  if (exact !== undefined || !name.includes('.')) return exact;
  let value: unknown = claims;
  for (const step of name.split('.')) value = ownValue(value, step);
  return value;
}

/**
 * The values of a roles claim: a JSON array of strings, or one string split at commas (each entry
 * trimmed). Not at white space: group names have spaces ("Domain Admins" is one group, and splitting
 * it would give its members the roles of a group called "Admins").
 */
export function claimList(value: unknown, claimName: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value.split(',').map((v) => v.trim()).filter((v) => v !== '');
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.filter((v) => v !== '');
  throw new InvalidAssertionError('claims', `the assertion's ${claimName} claim must be a string or an array of strings`);
}

function refusedClaim(what: string, err: unknown): never {
  const detail = err instanceof GatewayError ? `: ${err.message}` : '';
  throw new InvalidAssertionError('claims', `the assertion's ${what} is not acceptable${detail}`, { cause: err });
}

/**
 * False when the claims say the email address is not verified: `email_verified` present and
 * neither true nor "true" (Cognito's userinfo, which the ALB forwards, sends the string).
 * Absent, it says nothing either way (many IdPs only send verified addresses).
 */
export function emailMayBeUsed(claims: Readonly<Record<string, unknown>>): boolean {
  const verified = ownValue(claims, 'email_verified');
  return verified === undefined || verified === true || verified === 'true';
}

export function mapClaims(assertion: VerifiedAssertion, mapping: ClaimMapping, source: AssertionSourceKind): AssertedIdentity {
  const { claims } = assertion;
  const nameValue = claimValue(claims, mapping.usernameClaim);
  if (typeof nameValue !== 'string') throw new InvalidAssertionError('claims', `the assertion has no ${mapping.usernameClaim} claim to use as the user name`);
  // Anyone may sign up at many IdPs with someone else's address; unverified, it names nobody.
  if (mapping.usernameClaim === 'email' && !emailMayBeUsed(claims)) throw new InvalidAssertionError('unverified-email', "the assertion's email address is not verified (email_verified)");
  let name: string;
  try {
    name = validateAssertedUserName(nameValue);
  } catch (err) {
    refusedClaim(`user name (${mapping.usernameClaim})`, err);
  }
  const groups = mapping.rolesClaim === null ? [] : claimList(claimValue(claims, mapping.rolesClaim), mapping.rolesClaim);
  const mapped = mapping.roleMap === null ? groups.filter(passThroughRole) : groups.flatMap((group) => mapping.roleMap!.get(group) ?? []);
  let roles: string[];
  try {
    roles = validateRoles([...mapping.defaultRoles, ...mapped]);
  } catch (err) {
    refusedClaim(`roles (${mapping.rolesClaim ?? 'default roles'})`, err);
  }
  const email = ownValue(claims, 'email');
  const usableEmail = typeof email === 'string' && email !== '' && email.length <= MAX_EMAIL_LENGTH && !CONTROL.test(email) && isUnambiguousText(email) && emailMayBeUsed(claims);
  const identity: AssertedIdentity = {
    name,
    roles: Object.freeze(roles),
    ...(usableEmail ? { email } : {}),
    claims,
    source,
    expiresAt: assertion.expiresAt,
  };
  return Object.freeze(identity);
}
