/**
 * The identity pipelines of each consumer, built once at start (identity/pipeline.ts). The order
 * is the precedence: the first source whose credential the request carries decides.
 * - /proxy: Basic, the session cookie, the load balancer's assertions, then anonymous;
 * - /api: Basic, a Bearer token this gateway minted (the upstream's call-back), the session
 *   cookie, the load balancer's assertions, then anonymous;
 * - /admin: Basic only (no token, no cookie, no assertion: an upstream or a load balancer's SSO
 *   must never administer the gateway, and admin writes re-check a password version; no cookie
 *   until the admin console brings CSRF tokens).
 *
 * Why this order: an Authorization header is this request's own explicit credential; a session
 * cookie comes from an explicit login at this gateway; the load balancer's assertion
 * (docs/load-balancer.md) rides on every request behind it whether the client meant it or not,
 * so it only decides when neither of the others is there. Behind an ALB, a user who logged in
 * at /login as someone else stays that someone until /logout; a session that has ended yields
 * to the assertion rather than locking its user out.
 */
import type { Config } from '../config.js';
import { basicSource, bearerSource, IdentityPipeline, type IdentitySource, type RequestTrust } from '../identity/index.js';
import { forwardedOf, isTrustedPeer } from '../proxy/index.js';
import { cookieName, sessionCookieSource, type SessionSource } from '../sessions/index.js';
import { verifyToken } from '../tokens/index.js';
import type { StoreView } from './store-view.js';

export interface IdentityPipelines {
  trust: RequestTrust;
  /** The session cookie source (the login router reads the cookie through it). */
  session: SessionSource;
  proxy: IdentityPipeline;
  api: IdentityPipeline;
  admin: IdentityPipeline;
}

/** `assertions`: the load balancer's sources (gateway/assertion-sources.ts), in their order. */
export function createIdentityPipelines(
  config: Pick<Config, 'insecure' | 'trustProxy' | 'issuer' | 'audience' | 'clockSkewSeconds' | 'cookieSecure'>,
  view: Pick<StoreView, 'passwords' | 'users' | 'keys' | 'sessions'>,
  assertions: readonly IdentitySource[] = [],
): IdentityPipelines {
  const trust: RequestTrust = {
    clientAddressOf: (req) => forwardedOf(req, config.trustProxy).clientAddress,
    isTrustedPeer: (req) => isTrustedPeer(req, config.trustProxy),
  };
  const basic = basicSource(view.passwords);
  const bearer = bearerSource({
    verify: (token) => verifyToken(token, view.keys, { issuer: config.issuer, audience: config.audience, clockToleranceSeconds: config.clockSkewSeconds }),
    users: view.users,
    clockSkewSeconds: config.clockSkewSeconds,
  });
  const session = sessionCookieSource({ manager: view.sessions, users: view.users, cookieName: cookieName(config.cookieSecure), secure: config.cookieSecure });
  const pipeline = (sources: IdentitySource[]) => new IdentityPipeline({ sources, insecure: config.insecure });
  return {
    trust,
    session,
    proxy: pipeline([basic, session, ...assertions]),
    api: pipeline([basic, bearer, session, ...assertions]),
    admin: pipeline([basic]),
  };
}
