/**
 * The options of identity assertions (AWS ALB, trusted JWT from an authenticating proxy, claims
 * mapping), from raw strings as config.ts reads them from flags or JWTGATE_* variables, to typed
 * settings, or to the list of every problem at once. config.ts calls `parseAssertionOptions` and
 * merges the problems into its own; ASSERTION_OPTIONS lists the flags for cli.ts and the docs.
 */
import type { TrustProxy } from '../../proxy/trust-proxy.js';
import { validateRoles } from '../names.js';
import { DEFAULT_CLAIM_MAPPING, type ClaimMapping } from './claims.js';
import { NO_EXEMPT_PATHS, parseExemptPaths, type ExemptPaths } from './exempt-paths.js';
import { checkAssertingPeers } from './asserting-peers.js';
import { headerNameProblem } from './header-names.js';
import { bool, isLoopbackHostName, repeatedEntries, keyServerUrl, text, words, type RepeatableValue } from './option-values.js';
import { TRUSTED_JWT_ALGORITHMS, type TrustedJwtAlgorithm } from './trusted-jwt.js';

export interface RawAssertionOptions {
  albRegion?: string;
  albKeyUrl?: string;
  albArn?: string;
  albClientId?: string;
  albIssuer?: string;
  albBypassValidation?: string | boolean;
  trustedJwtHeader?: string;
  trustedJwksUrl?: string;
  trustedIssuer?: string;
  trustedAudience?: string;
  trustedAlgorithms?: string;
  usernameClaim?: string;
  rolesClaim?: string;
  roleMap?: RepeatableValue;
  defaultRoles?: string;
  authExempt?: RepeatableValue;
  autoCreateUsers?: string | boolean;
}

/** What the rules need from the rest of the configuration. */
export interface AssertionContext {
  host: string;
  allowInsecureRemote: boolean;
  /** null when --trust-proxy itself is invalid (already reported): its rules are not checked. */
  trustProxy: TrustProxy | null;
}

export interface AlbSettings {
  /** Key URL with `{kid}`; null only with bypassValidation. */
  readonly keyUrlTemplate: string | null;
  /** Required signer; null only with bypassValidation. */
  readonly arn: string | null;
  readonly clientId: string | null;
  readonly issuer: string | null;
  /** Development only: the assertion is believed unsigned. */
  readonly bypassValidation: boolean;
}

export interface TrustedJwtSettings {
  /** Lower-case request header name. */
  readonly header: string;
  readonly jwksUrl: URL;
  readonly algorithms: readonly TrustedJwtAlgorithm[];
  readonly issuer: string | null;
  readonly audience: readonly string[] | null;
}

export interface AssertionOptions {
  readonly alb: AlbSettings | null;
  readonly trustedJwt: TrustedJwtSettings | null;
  readonly claims: ClaimMapping;
  readonly authExempt: ExemptPaths;
  readonly autoCreateUsers: boolean;
  /** To be logged loudly at start. */
  readonly warnings: readonly string[];
}

export type ParsedAssertionOptions = { ok: true; options: AssertionOptions } | { ok: false; problems: string[] };

type Key = keyof RawAssertionOptions;

export interface AssertionOptionSpec {
  key: Key;
  flag: string;
  env: string;
  repeatable: boolean;
  description: string;
  defaultText: string;
}

const spec = (key: Key, flag: string, env: string, description: string, defaultText = '(none)', repeatable = false): AssertionOptionSpec => ({ key, flag, env, repeatable, description, defaultText });

/** The documented flags and variables (repeatable flags: one JWTGATE_* value, comma-separated). */
export const ASSERTION_OPTIONS: readonly AssertionOptionSpec[] = [
  spec('albRegion', '--alb-region <region>', 'JWTGATE_ALB_REGION', 'accept the AWS ALB x-amzn-oidc-data assertion; its keys come from https://public-keys.auth.elb.<region>.amazonaws.com/<kid>'),
  spec('albKeyUrl', '--alb-key-url <url>', 'JWTGATE_ALB_KEY_URL', 'instead of --alb-region: the key URL with a {kid} placeholder (GovCloud, China, tests)'),
  spec('albArn', '--alb-arn <arn>', 'JWTGATE_ALB_ARN', 'the ALB\'s ARN: the assertion\'s signer must be equal to it (required with --alb-region/--alb-key-url)'),
  spec('albClientId', '--alb-client-id <id>', 'JWTGATE_ALB_CLIENT_ID', 'when set, the assertion\'s client (OIDC client id) must be equal to it'),
  spec('albIssuer', '--alb-issuer <url>', 'JWTGATE_ALB_ISSUER', 'when set, the assertion\'s iss must be equal to it'),
  spec('albBypassValidation', '--alb-bypass-validation', 'JWTGATE_ALB_BYPASS_VALIDATION', 'development only: believe x-amzn-oidc-data without checking its signature; refused on a non-loopback --host unless --allow-insecure-remote', 'false'),
  spec('trustedJwtHeader', '--trusted-jwt-header <name>', 'JWTGATE_TRUSTED_JWT_HEADER', 'accept a JWT from an authenticating proxy in this header (X-Pomerium-Jwt-Assertion, Cf-Access-Jwt-Assertion, ...)'),
  spec('trustedJwksUrl', '--trusted-jwks-url <url>', 'JWTGATE_TRUSTED_JWKS_URL', 'the JWKS that signs the trusted JWT (required with --trusted-jwt-header)'),
  spec('trustedIssuer', '--trusted-issuer <iss>', 'JWTGATE_TRUSTED_ISSUER', 'when set, the trusted JWT\'s iss must be equal to it'),
  spec('trustedAudience', '--trusted-audience <aud>', 'JWTGATE_TRUSTED_AUDIENCE', 'when set, the trusted JWT\'s aud must contain it (comma-separated: any of them)'),
  spec('trustedAlgorithms', '--trusted-algorithms <list>', 'JWTGATE_TRUSTED_ALGORITHMS', `accepted signature algorithms of the trusted JWT, among ${TRUSTED_JWT_ALGORITHMS.join(', ')}`, 'RS256,ES256'),
  spec('usernameClaim', '--username-claim <claim>', 'JWTGATE_USERNAME_CLAIM', 'claim used as the user name (sub, email, preferred_username, ...)', 'sub'),
  spec('rolesClaim', '--roles-claim <claim>', 'JWTGATE_ROLES_CLAIM', 'claim holding groups or roles: a JSON array, or a string separated by commas (groups, custom:roles, ...)'),
  spec('roleMap', '--role-map <group=role>', 'JWTGATE_ROLE_MAP', 'map an IdP group to a jwtgate role (repeatable); when given, only mapped groups give roles', '(claim values are roles, but never ROLE_ADMIN or ROLE_ANONYMOUS)', true),
  spec('defaultRoles', '--default-roles <list>', 'JWTGATE_DEFAULT_ROLES', 'roles every asserted user gets in addition to the mapped ones (comma-separated; empty: none)', 'ROLE_USER'),
  spec('authExempt', '--auth-exempt <path>', 'JWTGATE_AUTH_EXEMPT', 'request path on which the assertion is neither read nor required (health checks): exact (/proxy/healthz), or a prefix (/proxy/health/*) (repeatable)', '(none)', true),
  spec('autoCreateUsers', '--auto-create-users', 'JWTGATE_AUTO_CREATE_USERS', 'store a user seen for the first time (no password); forwarded roles are the mapped ones plus the stored ones', 'false'),
];

const flagOf = (key: Key): string => ASSERTION_OPTIONS.find((o) => o.key === key)!.flag.split(' ')[0]!;

/** A string option: undefined when not given or empty. */
function given(raw: RawAssertionOptions, key: Key): string | undefined {
  const value = raw[key];
  if (value === undefined || typeof value === 'boolean' || typeof value !== 'string') return undefined;
  return value.trim() === '' ? undefined : value;
}

const ALB_ARN = /^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):\d{12}:loadbalancer\/app\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{1,32}$/;
const AWS_REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
/** Partitions whose key servers are not at public-keys.auth.elb.<region>.amazonaws.com. */
const OTHER_PARTITION = /^(?:us-gov-|cn-|us-iso)/;

function parseAlb(raw: RawAssertionOptions, context: AssertionContext, problems: string[], warnings: string[]): AlbSettings | null {
  const region = given(raw, 'albRegion');
  const keyUrl = given(raw, 'albKeyUrl');
  const arnRaw = given(raw, 'albArn');
  const clientId = given(raw, 'albClientId');
  const issuer = given(raw, 'albIssuer');
  const bypass = raw.albBypassValidation === undefined ? false : bool(raw.albBypassValidation, flagOf('albBypassValidation'), problems);
  if (!bypass && [region, keyUrl, arnRaw, clientId, issuer].every((v) => v === undefined)) return null;

  let arnRegion: string | undefined;
  if (arnRaw !== undefined) {
    const match = ALB_ARN.exec(arnRaw.trim());
    if (match) arnRegion = match[1];
    else problems.push(`--alb-arn must be an Application Load Balancer ARN (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>), got ${JSON.stringify(arnRaw)}`);
  }
  let keyUrlTemplate: string | null = null;
  if (region !== undefined && keyUrl !== undefined) {
    problems.push('--alb-region and --alb-key-url are exclusive: give one');
  } else if (region !== undefined) {
    if (!AWS_REGION.test(region.trim())) problems.push(`--alb-region must be an AWS region such as eu-west-1, got ${JSON.stringify(region)}`);
    else if (OTHER_PARTITION.test(region.trim())) problems.push(`--alb-region ${region.trim()}: this partition's ALB key server has another address; give it with --alb-key-url (see the AWS documentation of your partition)`);
    else if (arnRegion !== undefined && arnRegion !== region.trim()) problems.push(`--alb-region ${region.trim()} differs from the region of --alb-arn (${arnRegion})`);
    else keyUrlTemplate = `https://public-keys.auth.elb.${region.trim()}.amazonaws.com/{kid}`;
  } else if (keyUrl !== undefined) {
    if (keyServerUrl(keyUrl, '--alb-key-url', problems, true)) keyUrlTemplate = keyUrl.trim();
  } else if (!bypass) {
    problems.push('the ALB assertion needs --alb-region or --alb-key-url (where its keys are published)');
  }
  if (!bypass && arnRaw === undefined) {
    problems.push('--alb-arn is required with --alb-region/--alb-key-url: every AWS account\'s ALB signs with the same regional keys, only the signer ARN tells yours apart');
  }
  // Every authenticate action on the ALB (each rule may name another IdP or client) signs with the same signer.
  if (!bypass && clientId === undefined && issuer === undefined) {
    warnings.push('--alb-region/--alb-key-url without --alb-issuer or --alb-client-id: the assertion of every login action on this ALB is accepted, also one for another identity provider or client (such as a Cognito user pool open to sign-up); set --alb-issuer and --alb-client-id');
  }
  if (bypass) {
    if (!isLoopbackHostName(context.host) && !context.allowInsecureRemote) {
      problems.push(`--alb-bypass-validation believes any unsigned x-amzn-oidc-data: refused on the non-loopback host ${context.host} unless --allow-insecure-remote is given too`);
    }
    warnings.push('--alb-bypass-validation is on: x-amzn-oidc-data is believed WITHOUT any signature check; anyone who can reach the gateway through a trusted peer can be any user. Development only.');
  }
  return Object.freeze({
    keyUrlTemplate,
    arn: arnRaw === undefined ? null : arnRaw.trim(),
    clientId: clientId === undefined ? null : text(clientId, '--alb-client-id', problems),
    issuer: issuer === undefined ? null : text(issuer, '--alb-issuer', problems),
    bypassValidation: bypass,
  });
}

function parseTrusted(raw: RawAssertionOptions, albOn: boolean, problems: string[], warnings: string[]): TrustedJwtSettings | null {
  const header = given(raw, 'trustedJwtHeader');
  const jwks = given(raw, 'trustedJwksUrl');
  const issuer = given(raw, 'trustedIssuer');
  const audience = given(raw, 'trustedAudience');
  const algorithmsRaw = given(raw, 'trustedAlgorithms');
  if ([header, jwks, issuer, audience, algorithmsRaw].every((v) => v === undefined)) return null;
  if (header === undefined || jwks === undefined) {
    problems.push('a trusted JWT needs both --trusted-jwt-header and --trusted-jwks-url');
    return null;
  }
  const name = header.trim().toLowerCase();
  const nameProblem = headerNameProblem(header.trim(), '--trusted-jwt-header');
  if (nameProblem !== null) problems.push(nameProblem);
  else if (albOn && name === 'x-amzn-oidc-data') problems.push('--trusted-jwt-header cannot be x-amzn-oidc-data, the ALB assertion header');
  const jwksUrl = keyServerUrl(jwks, '--trusted-jwks-url', problems, false);
  const algorithms: TrustedJwtAlgorithm[] = [];
  for (const word of words(algorithmsRaw ?? 'RS256,ES256')) {
    const known = TRUSTED_JWT_ALGORITHMS.find((a) => a.toLowerCase() === word.toLowerCase());
    if (known) algorithms.push(known);
    else if (/^(?:none|HS\d+)$/i.test(word)) problems.push(`--trusted-algorithms: ${word} is never accepted (an unsigned token, or a shared secret the verifier's public key could stand in for)`);
    else problems.push(`--trusted-algorithms: unknown algorithm ${JSON.stringify(word)} (one of ${TRUSTED_JWT_ALGORITHMS.join(', ')})`);
  }
  if (algorithmsRaw !== undefined && words(algorithmsRaw).length === 0) problems.push('--trusted-algorithms must name at least one algorithm');
  const audiences = audience === undefined ? null : audience.split(',').map((a) => text(a, '--trusted-audience', problems));
  if (jwksUrl === null) return null;
  // An IdP's key set signs the tokens of every application it serves (a Keycloak realm, a Cloudflare team).
  if (audience === undefined) warnings.push('--trusted-jwt-header without --trusted-audience: every token this JWKS signs is accepted, also those issued for other applications; set --trusted-audience (and --trusted-issuer)');
  return Object.freeze({
    header: name,
    jwksUrl,
    algorithms: Object.freeze([...new Set(algorithms)]),
    issuer: issuer === undefined ? null : text(issuer, '--trusted-issuer', problems),
    audience: audiences === null ? null : Object.freeze(audiences),
  });
}

function roleList(values: string[], flag: string, problems: string[]): string[] {
  try {
    return validateRoles(values);
  } catch (err) {
    problems.push(`${flag}: ${(err as Error).message}`);
    return [];
  }
}

function parseClaims(raw: RawAssertionOptions, problems: string[]): ClaimMapping {
  const usernameClaim = given(raw, 'usernameClaim');
  const rolesClaim = given(raw, 'rolesClaim');
  const map = new Map<string, string[]>();
  for (const entry of repeatedEntries(raw.roleMap)) {
    const equals = entry.lastIndexOf('=');
    const group = equals > 0 ? entry.slice(0, equals).trim() : '';
    const role = equals > 0 ? entry.slice(equals + 1).trim() : '';
    if (group === '' || role === '') {
      problems.push(`--role-map entries are GROUP=ROLE, got ${JSON.stringify(entry)}`);
      continue;
    }
    text(group, '--role-map group', problems, 256);
    const [valid] = roleList([role], `--role-map ${JSON.stringify(entry)}`, problems);
    if (valid !== undefined) map.set(group, [...new Set([...(map.get(group) ?? []), valid])]);
  }
  if (map.size > 0 && rolesClaim === undefined) problems.push('--role-map needs --roles-claim (the claim that holds the groups)');
  const defaultRolesRaw = raw.defaultRoles;
  return Object.freeze({
    usernameClaim: usernameClaim === undefined ? DEFAULT_CLAIM_MAPPING.usernameClaim : text(usernameClaim, '--username-claim', problems, 256),
    rolesClaim: rolesClaim === undefined ? null : text(rolesClaim, '--roles-claim', problems, 256),
    roleMap: map.size === 0 ? null : map,
    defaultRoles: Object.freeze(defaultRolesRaw === undefined ? [...DEFAULT_CLAIM_MAPPING.defaultRoles] : roleList(words(defaultRolesRaw), '--default-roles', problems)),
  });
}

export function parseAssertionOptions(raw: RawAssertionOptions, context: AssertionContext): ParsedAssertionOptions {
  const problems: string[] = [];
  const warnings: string[] = [];
  const alb = parseAlb(raw, context, problems, warnings);
  const trustedJwt = parseTrusted(raw, alb !== null, problems, warnings);
  const claims = parseClaims(raw, problems);
  const exempt = parseExemptPaths(repeatedEntries(raw.authExempt));
  if (Array.isArray(exempt)) problems.push(...exempt);
  const autoCreateUsers = raw.autoCreateUsers === undefined ? false : bool(raw.autoCreateUsers, '--auto-create-users', problems);

  const sourceOn = alb !== null || trustedJwt !== null;
  if (!sourceOn) {
    const stray: Key[] = (['usernameClaim', 'rolesClaim', 'roleMap', 'defaultRoles', 'authExempt'] as const).filter((key) => raw[key] !== undefined && repeatedEntries(raw[key]).length > 0);
    if (autoCreateUsers) stray.push('autoCreateUsers');
    for (const key of stray) problems.push(`${flagOf(key)} applies to assertions: it needs --alb-region/--alb-key-url/--alb-bypass-validation or --trusted-jwt-header`);
  } else if (context.trustProxy !== null) {
    checkAssertingPeers(context.trustProxy, problems, warnings);
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    options: Object.freeze({
      alb,
      trustedJwt,
      claims,
      authExempt: Array.isArray(exempt) ? NO_EXEMPT_PATHS : exempt,
      autoCreateUsers,
      warnings: Object.freeze(warnings),
    }),
  };
}
