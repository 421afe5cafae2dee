/**
 * Why `verifyToken` refused a token, in words for `jwtgate token verify`: which header field or
 * claim, its value, and what was expected (jose's own errors only say e.g.
 * ERR_JWT_CLAIM_VALIDATION_FAILED). It runs only after verifyToken said no: the verdict stays
 * verifyToken's, this only names the reason.
 */
import { verify as verifySignature, type KeyObject } from 'node:crypto';

export interface Expectations {
  issuer: string;
  audience: string | null;
  now: number;
  /** The --clock-skew verifyToken was given. */
  clockToleranceSeconds: number;
}

// verifyToken's limit (server/tokens/verify.ts), which /api uses too; here only to word the reason.
const MAX_TOKEN_AGE_SECONDS = 86_400;

function decodePart(part: string | undefined): unknown {
  try {
    return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
const show = (v: unknown) => (v === undefined ? 'missing' : JSON.stringify(v));

/** Every reason found, most basic first (shape, header, signature, then the claims); empty when none is found. */
export function explainRefusal(token: string, published: ReadonlyMap<string, KeyObject>, expect: Expectations): string[] {
  const parts = token.split('.');
  const header = decodePart(parts[0]);
  const payload = decodePart(parts[1]);
  if (parts.length !== 3 || !isObject(header) || !isObject(payload)) return ['not a JWT: expected three base64url parts separated by dots, the first two JSON objects'];
  if (header['alg'] !== 'RS512') return [`the header's alg is ${show(header['alg'])}: only RS512 is accepted`];
  const kid = header['kid'];
  const key = typeof kid === 'string' ? published.get(kid) : undefined;
  if (!key) return [`the header's kid ${show(kid)} is not a key this store publishes (${[...published.keys()].join(', ') || 'none'})`];
  if (!verifySignature('sha512', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2]!, 'base64url'))) {
    return [`the signature does not match the published key ${kid}: the token was changed after signing, or signed by another key`];
  }
  const reasons: string[] = [];
  const now = expect.now / 1000;
  const CLOCK_TOLERANCE_SECONDS = expect.clockToleranceSeconds;
  const { exp, iat, nbf, iss, aud, sub } = payload;
  if (nbf !== undefined && typeof nbf !== 'number') reasons.push(`nbf is ${show(nbf)}: a number (seconds since 1970) is required when present`);
  else if (typeof nbf === 'number' && nbf - CLOCK_TOLERANCE_SECONDS > now) reasons.push(`nbf: the token is not valid before ${iso(nbf)}, ${Math.round(nbf - now)} s from now (--clock-skew ${CLOCK_TOLERANCE_SECONDS} s)`);
  if (typeof exp !== 'number') reasons.push(`exp is ${show(exp)}: a number (seconds since 1970) is required`);
  else if (exp + CLOCK_TOLERANCE_SECONDS <= now) reasons.push(`exp: the token expired at ${iso(exp)}, ${Math.round(now - exp)} s ago`);
  if (typeof iat !== 'number') reasons.push(`iat is ${show(iat)}: a number (seconds since 1970) is required`);
  else if (iat - CLOCK_TOLERANCE_SECONDS > now) reasons.push(`iat: the token says it was issued at ${iso(iat)}, ${Math.round(iat - now)} s in the future`);
  else if (now - iat > MAX_TOKEN_AGE_SECONDS + CLOCK_TOLERANCE_SECONDS) reasons.push(`iat: the token was issued at ${iso(iat)}, more than 24 h ago`);
  if (iss !== expect.issuer) reasons.push(`iss is ${show(iss)}, expected ${JSON.stringify(expect.issuer)} (--issuer)`);
  if (expect.audience !== null && aud !== expect.audience && !(Array.isArray(aud) && aud.includes(expect.audience))) {
    reasons.push(`aud is ${show(aud)}, expected ${JSON.stringify(expect.audience)} (--audience)`);
  }
  if (typeof sub !== 'string' || sub === '') reasons.push(`sub is ${show(sub)}: a user name is required`);
  const authorities = payload['authorities'];
  if (!Array.isArray(authorities) || !authorities.every((r) => typeof r === 'string')) reasons.push(`authorities is ${show(authorities)}: an array of role names is required`);
  return reasons;
}
