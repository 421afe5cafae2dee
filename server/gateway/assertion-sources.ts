/**
 * The identity sources of a load balancer or authenticating proxy (docs/load-balancer.md), built
 * once at start from Config.assertions: the ALB's assertion, then the trusted JWT. With
 * --auto-create-users both join the store's users, and a user they create is audited (actor
 * `assertion:alb` or `assertion:trusted-jwt`: user names cannot contain ":").
 */
import type { AuditLog } from '../audit.js';
import type { Config } from '../config.js';
import { albSource, AutoCreatedUsers, trustedJwtSource, type IdentitySource, type UserDirectory } from '../identity/index.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';

export interface AssertionSourceDeps {
  store: Pick<Store, 'upsertUser'>;
  users: Pick<UserDirectory, 'known' | 'get' | 'invalidate'>;
  audit: AuditLog;
  log: Pick<Logger, 'info'>;
}

export function createAssertionSources(config: Pick<Config, 'assertions'>, deps: AssertionSourceDeps): IdentitySource[] {
  const { alb, trustedJwt, claims, authExempt: exempt, autoCreateUsers } = config.assertions;
  const users = !autoCreateUsers
    ? null
    : new AutoCreatedUsers({
        directory: deps.users,
        store: deps.store,
        onCreated(name, via) {
          deps.audit.record({ actor: `assertion:${via}`, action: 'user.create', target: name, details: { roles: [], passwordChanged: false } });
          deps.log.info({ action: 'user.create', target: name, via }, 'user created on first sight (--auto-create-users)');
        },
      });
  const sources: IdentitySource[] = [];
  if (alb) sources.push(albSource({ settings: alb, claims, exempt, users }));
  if (trustedJwt) sources.push(trustedJwtSource({ settings: trustedJwt, claims, exempt, users }));
  return sources;
}

/** At start: which assertions are believed, from whom; the warnings (--alb-bypass-validation) loudly, as warn. */
export function logAssertionSettings(config: Pick<Config, 'assertions' | 'trustProxy'>, log: Pick<Logger, 'info' | 'warn'>): void {
  const { alb, trustedJwt, authExempt, autoCreateUsers, warnings } = config.assertions;
  const from = config.trustProxy.kind === 'cidrs' ? config.trustProxy.text : null;
  if (alb?.bypassValidation) log.info({ from, autoCreateUsers }, 'accepting the ALB assertion (x-amzn-oidc-data) from trusted peers, UNSIGNED (--alb-bypass-validation)');
  else if (alb) log.info({ signer: alb.arn, keys: alb.keyUrlTemplate, from, autoCreateUsers }, 'accepting the ALB assertion (x-amzn-oidc-data) from trusted peers');
  if (trustedJwt) {
    const { header, jwksUrl, issuer, audience, algorithms } = trustedJwt;
    log.info({ header, jwks: jwksUrl.href, issuer, audience, algorithms, from, autoCreateUsers }, 'accepting trusted JWT assertions from trusted peers');
  }
  if (authExempt.entries.length > 0) log.info({ paths: authExempt.entries }, '--auth-exempt: the assertion is neither read nor required on these paths');
  for (const warning of warnings) log.warn(`SECURITY WARNING: ${warning}`);
}
