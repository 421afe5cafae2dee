/** The AWS ALB's `x-amzn-oidc-data` (identity/assertions/alb-token.ts), from trusted peers only (sources/assertion.ts). */
import { createAlbVerifier, type AlbSettings } from '../assertions/index.js';
import type { IdentitySource } from '../pipeline.js';
import { assertionSource, type AssertionSourceSettings } from './assertion.js';

export function albSource({ settings, claims, tuning, ...rest }: AssertionSourceSettings<AlbSettings>): IdentitySource {
  return assertionSource({ ...rest, verifier: createAlbVerifier(settings, claims, tuning) });
}
