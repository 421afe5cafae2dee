/**
 * The identity pipelines of each consumer, built once at start (identity/pipeline.ts):
 * - /proxy: Basic, the session cookie, then anonymous;
 * - /api: Basic, a Bearer token this gateway minted (the upstream's call-back), the session
 *   cookie, then anonymous;
 * - /admin: Basic only (no token: an upstream must never administer the gateway; no cookie
 *   until the admin console brings CSRF tokens).
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

export function createIdentityPipelines(config: Pick<Config, 'insecure' | 'trustProxy' | 'issuer' | 'audience' | 'clockSkewSeconds' | 'cookieSecure'>, view: Pick<StoreView, 'passwords' | 'users' | 'keys' | 'sessions'>): IdentityPipelines {
  const trust: RequestTrust = {
    clientAddressOf: (req) => forwardedOf(req, config.trustProxy).clientAddress,
    isTrustedPeer: (req) => isTrustedPeer(req, config.trustProxy),
  };
  const basic = basicSource(view.passwords);
  const bearer = bearerSource({
    verify: (token) => verifyToken(token, view.keys, { issuer: config.issuer, audience: config.audience, clockToleranceSeconds: config.clockSkewSeconds }),
    users: view.users,
  });
  const session = sessionCookieSource({ manager: view.sessions, users: view.users, cookieName: cookieName(config.cookieSecure), secure: config.cookieSecure });
  const pipeline = (sources: IdentitySource[]) => new IdentityPipeline({ sources, insecure: config.insecure });
  return { trust, session, proxy: pipeline([basic, session]), api: pipeline([basic, bearer, session]), admin: pipeline([basic]) };
}
