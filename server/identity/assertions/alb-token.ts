/**
 * The AWS Application Load Balancer's `x-amzn-oidc-data` assertion. It looks like a JWT but is
 * not one that standard libraries accept: the header and payload segments are base64url WITH `=`
 * padding, and the ES256 signature covers those padded segments exactly as sent. So the check is
 * done here with node:crypto over the received bytes; nothing is re-encoded or "fixed" first.
 *
 * Accepted: exactly the format the ALB emits. The header and payload must be canonical padded
 * base64url (length a multiple of 4); a token whose padding was stripped, or a standard unpadded
 * JWT, is refused as malformed before any key is fetched, even if a valid key signed it. (Its
 * signature could not match anyway once padding is removed from a genuine token.) The signature
 * segment is not signed, so many spellings would decode to the same 64 bytes (other padding,
 * other unused bits in the last character); only the one the ALB sends is accepted: 86
 * characters whose last one has no unused bit set, then `==`. Each spelling would otherwise be
 * one more cache entry and one more signature check for a token replayed by a trusted peer.
 *
 * ECDSA signatures come in pairs: (r, s) is valid exactly when (r, n - s) is. The ALB does not
 * pick the low one (genuine ALB tokens have a high s), so both are accepted; `albSignatureTwin`
 * lets the cache answer for the twin of a verified token without a second check.
 *
 * The algorithm is fixed to ES256 whatever the header says, and the header's `signer` must be the
 * configured ALB ARN: the regional key server is shared by every AWS account, so any account's
 * ALB can sign a token that verifies (the 2024 "ALBeast" finding); only the signer tells ours apart.
 */
import { verify as verifySignature } from 'node:crypto';
import { InvalidAssertionError } from '../../errors.js';
import { ALB_KID, type AlbKeySource } from './alb-keys.js';

/** ALB claims headers are limited to about 11 KB; anything far larger is refused unparsed. */
export const MAX_ASSERTION_LENGTH = 16 * 1024;

const PADDED_SEGMENT = /^(?:[A-Za-z0-9_-]{4})+$|^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)$/;
const ANY_SEGMENT = /^[A-Za-z0-9_-]+={0,2}$/;
/** 64 bytes (r and s of ES256) as the ALB encodes them: the 86th character holds 2 bits and 4 zero bits (A, Q, g or w). */
const SIGNATURE_SEGMENT = /^[A-Za-z0-9_-]{85}[AQgw]==$/;
/** The order of P-256. */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

export interface AlbTokenOptions {
  /** The ALB's ARN; the header's `signer` must be equal to it. */
  arn: string;
  /** When set, the header's `client` (the OIDC client id) must be equal to it. */
  clientId?: string | null;
  /** When set, the header's `iss` must be equal to it. */
  issuer?: string | null;
  /** Allowed clock skew on `exp`, seconds. */
  clockToleranceSeconds?: number;
  now?: () => number;
}

export interface VerifiedAssertion {
  /** The payload: the IdP's user claims as the ALB forwards them. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** When the assertion stops being valid, ms since epoch. */
  readonly expiresAt: number;
}


const malformed = (why: string) => new InvalidAssertionError('malformed', `the load balancer assertion is malformed (${why})`);

function jsonObject(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw malformed(`${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

interface Parts {
  header: Record<string, unknown>;
  signingInput: string;
  payloadSegment: string;
  signatureSegment: string;
}

function split(token: string, padded: boolean): Parts {
  if (token.length > MAX_ASSERTION_LENGTH) throw malformed(`longer than ${MAX_ASSERTION_LENGTH} characters`);
  const segments = token.split('.');
  if (segments.length !== 3) throw malformed('not three segments');
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];
  const shape = padded ? PADDED_SEGMENT : ANY_SEGMENT;
  if (!shape.test(headerSegment) || !shape.test(payloadSegment)) throw malformed(padded ? 'segments are not padded base64url' : 'segments are not base64url');
  return { header: jsonObject(headerSegment, 'header'), signingInput: `${headerSegment}.${payloadSegment}`, payloadSegment, signatureSegment };
}

function expiry(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw malformed(`${what} exp is not a number`);
  return value;
}

type Clock = Pick<AlbTokenOptions, 'clockToleranceSeconds' | 'now'>;

function checkNotExpired(expSeconds: number, options: Clock): void {
  const nowSeconds = (options.now ?? Date.now)() / 1000;
  if (nowSeconds > expSeconds + (options.clockToleranceSeconds ?? 30)) throw new InvalidAssertionError('expired', 'the load balancer assertion has expired');
}

/** Checks everything the header says before any key is fetched; returns the kid and exp. */
function checkHeader(header: Record<string, unknown>, options: AlbTokenOptions): { kid: string; exp: number } {
  if (header['alg'] !== 'ES256') throw new InvalidAssertionError('algorithm', 'the load balancer assertion must be signed with ES256');
  const kid = header['kid'];
  if (typeof kid !== 'string' || !ALB_KID.test(kid)) throw new InvalidAssertionError('kid', 'the load balancer assertion has an invalid key id');
  if (header['signer'] !== options.arn) throw new InvalidAssertionError('signer', 'the load balancer assertion was signed by another load balancer');
  if (options.issuer != null && header['iss'] !== options.issuer) throw new InvalidAssertionError('issuer', 'the load balancer assertion has an unexpected issuer');
  if (options.clientId != null && header['client'] !== options.clientId) throw new InvalidAssertionError('client', 'the load balancer assertion was issued for another client');
  const exp = expiry(header['exp'], 'header');
  if (exp === undefined) throw malformed('header has no exp');
  checkNotExpired(exp, options);
  return { kid, exp };
}

function decodeSignature(segment: string): Buffer {
  if (!SIGNATURE_SEGMENT.test(segment)) throw malformed('the signature is not 64 bytes in the padded base64url the load balancer sends');
  return Buffer.from(segment, 'base64url');
}

/**
 * The other valid spelling of an ALB token: its signature (r, s) as (r, n - s). Undefined when
 * the token has no signature in the ALB's encoding (it is then refused anyway).
 */
export function albSignatureTwin(token: string): string | undefined {
  const dot = token.lastIndexOf('.');
  const segment = token.slice(dot + 1);
  if (dot < 0 || !SIGNATURE_SEGMENT.test(segment)) return undefined;
  const signature = Buffer.from(segment, 'base64url');
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  if (s === 0n || s >= P256_ORDER) return undefined;
  const twin = Buffer.concat([signature.subarray(0, 32), Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex')]);
  return `${token.slice(0, dot + 1)}${twin.toString('base64url')}==`;
}

/** `nbf`, when the payload has one: the assertion is not valid before it (with the leeway). */
function checkNotBefore(payload: Record<string, unknown>, options: Clock): void {
  const nbf = payload['nbf'];
  if (nbf === undefined) return;
  if (typeof nbf !== 'number' || !Number.isFinite(nbf)) throw malformed('payload nbf is not a number');
  const nowSeconds = (options.now ?? Date.now)() / 1000;
  if (nowSeconds + (options.clockToleranceSeconds ?? 30) < nbf) throw new InvalidAssertionError('not-yet-valid', 'the load balancer assertion is not valid yet');
}

function verified(payload: Record<string, unknown>, headerExp: number | undefined, options: Clock): VerifiedAssertion {
  const payloadExp = expiry(payload['exp'], 'payload');
  if (payloadExp !== undefined) checkNotExpired(payloadExp, options);
  checkNotBefore(payload, options);
  // Without any exp (bypass mode only), the assertion is cached for at most the cache's maximum age (cache.ts).
  const exp = Math.min(headerExp ?? Infinity, payloadExp ?? Infinity);
  return Object.freeze({ claims: Object.freeze(payload), expiresAt: exp * 1000 });
}

/**
 * Verifies an ALB assertion. Rejects with InvalidAssertionError (401) when it is not acceptable,
 * or with whatever `keys.keyFor` rejects with (AssertionKeysUnavailableError, 503) when the key
 * cannot be had.
 */
export async function verifyAlbAssertion(token: string, keys: AlbKeySource, options: AlbTokenOptions): Promise<VerifiedAssertion> {
  const parts = split(token, true);
  const { kid, exp } = checkHeader(parts.header, options);
  const signature = decodeSignature(parts.signatureSegment);
  const key = await keys.keyFor(kid);
  const valid = verifySignature('sha256', Buffer.from(parts.signingInput, 'latin1'), { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (!valid) throw new InvalidAssertionError('signature', 'the load balancer assertion has an invalid signature');
  // Its header, signer included, verified with this key: the key signs for this ALB.
  keys.confirm(kid, key);
  return verified(jsonObject(parts.payloadSegment, 'payload'), exp, options);
}

/**
 * --alb-bypass-validation (local development only): the payload is believed without any
 * signature, signer or algorithm check, padded or not (a hand-made unsigned JWT works). `exp`,
 * when present in the header or payload, and the payload's `nbf` are still checked.
 */
export function decodeUnverifiedAssertion(token: string, options: Clock): VerifiedAssertion {
  const parts = split(token, false);
  const headerExp = expiry(parts.header['exp'], 'header');
  if (headerExp !== undefined) checkNotExpired(headerExp, options);
  return verified(jsonObject(parts.payloadSegment, 'payload'), headerExp, options);
}
