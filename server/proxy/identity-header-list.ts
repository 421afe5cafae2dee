/**
 * Request headers through which authenticating proxies tell an application who the user is.
 * Upstreams behind such proxies commonly trust them without checking, so the gateway removes them
 * from every incoming request, whatever its configuration and whoever the peer is: the upstream
 * learns the user from the gateway's own token (and from --identity-header, set by the gateway).
 * Load-balancer assertions (x-amzn-oidc-*, ...) are on the list too: the gateway verifies them
 * itself and does not pass them on.
 *
 * Names are compared after lower-casing and reading "_" as "-" (CGI/WSGI servers, PHP and
 * Django's META expose X_Remote_User and X-Remote-User alike). The sources are each product's
 * documentation of the headers it sets.
 */

/** Exact names (lower case, "-" form). */
export const WELL_KNOWN_IDENTITY_HEADERS: readonly string[] = Object.freeze([
  // oauth2-proxy (--pass-user-headers, --set-xauthrequest); also Traefik forward-auth.
  'x-forwarded-user', 'x-forwarded-email', 'x-forwarded-groups', 'x-forwarded-preferred-username', 'x-forwarded-access-token',
  // Apache and nginx auth-request setups, Kubernetes' front-proxy defaults.
  'remote-user', 'x-remote-user', 'x-remote-group',
  // Generic names of nginx auth_request examples and of apps configured for them (OliveTin, ...).
  'x-user', 'x-email', 'x-username', 'x-usergroup',
  // Keycloak Gatekeeper / Louketo proxy.
  'x-auth-email', 'x-auth-groups', 'x-auth-roles', 'x-auth-subject', 'x-auth-userid', 'x-auth-username',
  // Google Cloud IAP.
  'x-goog-iap-jwt-assertion',
  // AWS Verified Access.
  'x-amzn-ava-user-context',
  // Kong (key-auth, basic-auth, oauth2... plugins).
  'x-credential-identifier', 'x-anonymous-consumer',
  // Client certificates as forwarded by TLS terminators (nginx, HAProxy, Azure App Service).
  'ssl-client-cert', 'x-client-cert', 'x-arr-clientcert',
]);

/** Prefixes (lower case, "-" form): every header whose name starts with one of these. */
export const WELL_KNOWN_IDENTITY_PREFIXES: readonly string[] = Object.freeze([
  'x-webauth-', // Grafana auth proxy: X-WEBAUTH-USER, -EMAIL, -NAME, -GROUPS, -ROLE; caddy-tailscale
  'x-auth-request-', // oauth2-proxy --set-xauthrequest: -User, -Email, -Groups, -Preferred-Username, -Access-Token
  'remote-', // Authelia, Caddy forward_auth examples: Remote-User, -Groups, -Email, -Name
  'x-remote-', // Kubernetes front proxy: X-Remote-User, -Group, -Extra-*
  'impersonate-', // Kubernetes impersonation: Impersonate-User, -Group, -Uid, -Extra-*
  'x-pomerium-', // Pomerium: X-Pomerium-Jwt-Assertion, X-Pomerium-Claim-*
  'cf-access-', // Cloudflare Access: Cf-Access-Jwt-Assertion, Cf-Access-Authenticated-User-Email
  'x-amzn-oidc-', // AWS ALB: x-amzn-oidc-data, -identity, -accesstoken
  'x-amzn-mtls-', // AWS ALB mutual TLS: X-Amzn-Mtls-Clientcert, ...
  'x-goog-authenticated-user-', // Google Cloud IAP: -email, -id
  'x-ms-client-principal', // Azure App Service authentication: X-MS-CLIENT-PRINCIPAL, -ID, -NAME, -IDP
  'x-ms-token-', // Azure App Service authentication: X-MS-TOKEN-AAD-ID-TOKEN, ...
  'x-authentik-', // authentik proxy outpost: X-authentik-username, -groups, -email, -uid, ...
  'x-vouch-', // Vouch Proxy: X-Vouch-User, X-Vouch-IdP-Claims-*
  'tailscale-user-', // Tailscale Serve: Tailscale-User-Login, -Name, -Profile-Pic
  'oidc-', // Apache mod_auth_openidc: OIDC_CLAIM_*, OIDC_access_token, ...
  'shib-', // Shibboleth SP (ShibUseHeaders): Shib-Session-ID, Shib-Identity-Provider, ...
  'x-consumer-', // Kong: X-Consumer-ID, -Username, -Custom-ID, -Groups
  'x-authenticated-', // Kong OAuth2 / OIDC: X-Authenticated-Userid, -Scope, -Groups
  'x-ssl-client-', // nginx/HAProxy client certificates: X-SSL-Client-Cert, -DN, -Verify
  'x-client-cert-', // client certificate details (X-Client-Cert-Subject, ...)
]);

const EXACT = new Set(WELL_KNOWN_IDENTITY_HEADERS);
// One regular expression rather than a loop of startsWith: this runs for every header of every
// request. The prefixes are letters and "-" only (a unit test keeps it so), nothing to escape.
const PREFIX = new RegExp(`^(?:${WELL_KNOWN_IDENTITY_PREFIXES.join('|')})`);

/** Lower case, "_" read as "-". */
export function normalizeHeaderName(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}

export function isWellKnownIdentityHeader(name: string): boolean {
  const normal = normalizeHeaderName(name);
  return EXACT.has(normal) || PREFIX.test(normal);
}

/**
 * The full test for an incoming header: a well-known identity header, or one of `configured`
 * (the --identity-header names the gateway sets, the --trusted-jwt-header), in any case and
 * with "_" for "-".
 */
export function identityHeaderStripper(configured: Iterable<string>): (name: string) => boolean {
  const own = new Set([...configured].map(normalizeHeaderName));
  return (name) => {
    const normal = normalizeHeaderName(name);
    return own.has(normal) || EXACT.has(normal) || PREFIX.test(normal);
  };
}
