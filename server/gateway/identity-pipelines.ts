/**
 * The identity pipelines of each consumer, built once at start (identity/pipeline.ts):
 * - /proxy: Basic, then anonymous;
 * - /api: Basic, a Bearer token this gateway minted (the upstream's call-back), then anonymous;
 * - /admin: Basic only (no token: an upstream must never administer the gateway).
 */
import type { Config } from '../config.js';
import { basicSource, bearerSource, IdentityPipeline, type IdentitySource, type RequestTrust } from '../identity/index.js';
import { forwardedOf, isTrustedPeer } from '../proxy/index.js';
import { verifyToken } from '../tokens/index.js';
import type { StoreView } from './store-view.js';

export interface IdentityPipelines {
  trust: RequestTrust;
  proxy: IdentityPipeline;
  api: IdentityPipeline;
  admin: IdentityPipeline;
}

export function createIdentityPipelines(config: Pick<Config, 'insecure' | 'trustProxy' | 'issuer' | 'audience' | 'clockSkewSeconds'>, view: Pick<StoreView, 'passwords' | 'users' | 'keys'>): IdentityPipelines {
  const trust: RequestTrust = {
    clientAddressOf: (req) => forwardedOf(req, config.trustProxy).clientAddress,
    isTrustedPeer: (req) => isTrustedPeer(req, config.trustProxy),
  };
  const basic = basicSource(view.passwords);
  const bearer = bearerSource({
    verify: (token) => verifyToken(token, view.keys, { issuer: config.issuer, audience: config.audience, clockToleranceSeconds: config.clockSkewSeconds }),
    users: view.users,
  });
  const pipeline = (sources: IdentitySource[]) => new IdentityPipeline({ sources, insecure: config.insecure });
  return { trust, proxy: pipeline([basic]), api: pipeline([basic, bearer]), admin: pipeline([basic]) };
}
