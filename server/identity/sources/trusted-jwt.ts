/**
 * A standard JWT from an authenticating proxy (oauth2-proxy, Pomerium, Cloudflare Access) in the
 * --trusted-jwt-header (identity/assertions/trusted-jwt.ts), from trusted peers only (sources/assertion.ts).
 */
import { createTrustedJwtVerifier, type TrustedJwtSettings } from '../assertions/index.js';
import type { IdentitySource } from '../pipeline.js';
import { assertionSource, type AssertionSourceSettings } from './assertion.js';

export function trustedJwtSource({ settings, claims, tuning, ...rest }: AssertionSourceSettings<TrustedJwtSettings>): IdentitySource {
  return assertionSource({ ...rest, verifier: createTrustedJwtVerifier(settings, claims, tuning) });
}
