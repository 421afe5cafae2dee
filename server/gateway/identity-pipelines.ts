/**
 * The identity pipelines of each consumer, built once at start (identity/pipeline.ts). The order
 * is the precedence: the first source whose credential the request carries decides.
 * - /proxy: Basic, [session cookie], the load balancer's assertions, then anonymous;
 * - /api: Basic, a Bearer token this gateway minted (the upstream's call-back), [session cookie],
 *   the load balancer's assertions, then anonymous;
 * - /admin: Basic only (no token, no assertion: an upstream or a load balancer's SSO must never
 *   administer the gateway, and admin writes re-check a password version).
 *
 * Why this order: an Authorization header is this request's own explicit credential; a session
 * cookie comes from an explicit login at this gateway; the load balancer's assertion
 * (docs/load-balancer.md) rides on every request behind it whether the client meant it or not,
 * so it only decides when neither of the others is there. Behind an ALB, a user who logged in
 * at /login as someone else stays that someone until /logout.
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

/** `assertions`: the load balancer's sources (gateway/assertion-sources.ts), in their order. */
export function createIdentityPipelines(config: Pick<Config, 'insecure' | 'trustProxy' | 'issuer' | 'audience' | 'clockSkewSeconds'>, view: Pick<StoreView, 'passwords' | 'users' | 'keys'>, assertions: readonly IdentitySource[] = []): IdentityPipelines {
  const trust: RequestTrust = {
    clientAddressOf: (req) => forwardedOf(req, config.trustProxy).clientAddress,
    isTrustedPeer: (req) => isTrustedPeer(req, config.trustProxy),
  };
  const basic = basicSource(view.passwords);
  const bearer = bearerSource({
    verify: (token) => verifyToken(token, view.keys, { issuer: config.issuer, audience: config.audience, clockToleranceSeconds: config.clockSkewSeconds }),
    users: view.users,
  });
  // ▼ The session-cookie source (server/sessions/) goes here: after the Authorization header, before the assertions.
  const session: IdentitySource[] = [];
  const pipeline = (sources: IdentitySource[]) => new IdentityPipeline({ sources, insecure: config.insecure });
  return {
    trust,
    proxy: pipeline([basic, ...session, ...assertions]),
    api: pipeline([basic, bearer, ...session, ...assertions]),
    admin: pipeline([basic]),
  };
}
