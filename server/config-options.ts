/**
 * What can be configured: the typed Config that loadConfig (config.ts) returns, and OPTIONS, the
 * table of flags, environment variables, descriptions and defaults that cli.ts builds its flags
 * and help from and docs/configuration.md mirrors (a test compares them). Reads nothing.
 */
import type { AssertionOptions, RawAssertionOptions } from './identity/index.js';
import { ASSERTION_OPTIONS } from './identity/index.js';
import type { IdentityHeaderSpec, TrustProxy } from './proxy/index.js';

export interface Config {
  /** Interface to listen on. */
  host: string;
  /** TCP port to listen on (0 = any free port). */
  port: number;
  /** Folder of the embedded SQLite store. */
  dataDir: string;
  /** Every caller is anonymousUser with ROLE_ADMIN, ROLE_ANONYMOUS, ROLE_USER. */
  insecure: boolean;
  /** --insecure is refused on a non-loopback host unless this is set too. */
  allowInsecureRemote: boolean;
  /** The URL clients use to reach the gateway; when set, X-Forwarded-Proto/-Host come from it, not from the Host header. */
  publicUrl: URL | null;
  /** Peers whose X-Forwarded-* are believed. */
  trustProxy: TrustProxy;
  /** Largest request head (request line + headers), bytes; 431 beyond. */
  maxHeaderSize: number;
  /** Time a client has to send the whole request head, ms (slow-loris bound). */
  headersTimeoutMs: number;
  /** Idle time after which a client socket is closed, ms. */
  idleTimeoutMs: number;
  /** Keep-alive time between two requests on one connection, ms. */
  keepAliveTimeoutMs: number;
  /** Largest proxied request body, bytes; 0 = no limit. 413 beyond. */
  maxBodyBytes: number;
  /** Failed logins per minute per user name and per client address before 429. */
  maxLoginFailures: number;
  /** Longest wait of a password check for its turn in the hash queue, ms; 503 after it. */
  loginMaxWaitMs: number;
  /** IPv6 clients count as one per prefix of this length (throttle, hash queue, tunnels). */
  ipv6PrefixBits: number;
  /** A WebSocket tunnel with no traffic either way for this long is closed, ms. */
  tunnelIdleTimeoutMs: number;
  /** Open WebSocket tunnels at most, in all. */
  maxTunnels: number;
  /** Open WebSocket tunnels at most per client (address, IPv6 prefix). */
  maxTunnelsPerClient: number;
  /** JSON-lines audit log of admin changes. */
  auditLogFile: string;
  /** Lifetime of minted tokens, seconds. */
  tokenTtlSeconds: number;
  /** `iss` claim of minted tokens, checked on forwarded tokens: --issuer, else the --public-url origin, else `jwtgate`. */
  issuer: string;
  /** `aud` claim of minted tokens; none when null. */
  audience: string | null;
  /** How long the upstream may take to send headers, or to send the next body chunk, ms. */
  upstreamTimeoutMs: number;
  /** Password of the first `admin` user; random (printed once) when null. */
  adminPassword: string | null;
  /** Minimum length of a new password, on every write path. */
  minPasswordLength: number;
  /** How often a running server checks the store for changes made by another process, ms. */
  pollIntervalMs: number;
  /** How long SIGTERM waits for in-flight requests, ms. */
  drainTimeoutMs: number;
  /** JWKS response max-age, seconds (at most consumerCacheMaxSeconds). */
  jwksMaxAgeSeconds: number;
  /** The longest any JWKS consumer caches the key set, seconds: a next key signs only once published this long; the previous key stays published tokenTtl + this. */
  consumerCacheMaxSeconds: number;
  /** Scheduled rotation period, seconds; null: off. */
  rotateEverySeconds: number | null;
  /** Clock difference tolerated between hosts, seconds: nbf = iat - this; /api accepts exp, nbf, iat this far off. */
  clockSkewSeconds: number;
  /** A browser session unused this long ends, seconds. */
  sessionIdleTimeoutSeconds: number;
  /** A browser session ends this long after its login, seconds. */
  sessionMaxAgeSeconds: number;
  /** Live browser sessions per user at most; a login beyond ends that user's oldest. */
  maxSessionsPerUser: number;
  /** The session cookie is `Secure` and `__Host-` prefixed (default: when --public-url is https). */
  cookieSecure: boolean;
  /** Other sites whose cookie-authenticated unsafe requests are accepted (exact origins). */
  allowedOrigins: ReadonlySet<string>;
  /** A /proxy request without identity goes to the login page (HTML) or gets 401, instead of being anonymous. */
  requireLogin: boolean;
  /** Seals private keys at rest (AES-256-GCM) when set; env only, never a flag. */
  keyEncryptionKey: string | null;
  /** pino log level. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Identity assertions of a load balancer or authenticating proxy, from the ASSERTION_OPTIONS flags (docs/load-balancer.md). */
  assertions: AssertionOptions;
  /** --identity-header: request headers set from the identity for header-auth upstreams (none for anonymous callers). */
  identityHeaders: readonly IdentityHeaderSpec[];
}

/** The keys of OPTIONS: Config's own, and the assertion flags that make up Config.assertions. */
export type OptionKey = Exclude<keyof Config, 'assertions'> | keyof RawAssertionOptions;

export interface OptionSpec {
  key: OptionKey;
  /** commander flag, e.g. `--port <port>`; null for settings that are environment-only. */
  flag: string | null;
  env: string;
  description: string;
  defaultText: string;
  /** The flag may be given several times; its variable holds several entries (one per line, or separated by commas and spaces). */
  repeatable?: boolean;
}

/** The documented options; cli.ts builds its flags and help from this table and docs/configuration.md mirrors it. */
export const OPTIONS: readonly OptionSpec[] = [
  { key: 'host', flag: '--host <host>', env: 'JWTGATE_HOST', description: 'interface to listen on', defaultText: '127.0.0.1' },
  { key: 'port', flag: '--port <port>', env: 'JWTGATE_PORT', description: 'TCP port to listen on (0: any free port)', defaultText: '8080' },
  { key: 'dataDir', flag: '--data-dir <dir>', env: 'JWTGATE_DATA_DIR', description: 'folder of the embedded SQLite store', defaultText: './data' },
  { key: 'insecure', flag: '--insecure', env: 'JWTGATE_INSECURE', description: 'no security: every caller is anonymousUser with ROLE_ADMIN, ROLE_ANONYMOUS, ROLE_USER', defaultText: 'false' },
  { key: 'allowInsecureRemote', flag: '--allow-insecure-remote', env: 'JWTGATE_ALLOW_INSECURE_REMOTE', description: 'allow --insecure on a non-loopback --host', defaultText: 'false' },
  { key: 'publicUrl', flag: '--public-url <url>', env: 'JWTGATE_PUBLIC_URL', description: 'URL clients use to reach the gateway; X-Forwarded-Proto/-Host are taken from it instead of the Host header (recommended: upstreams call it back)', defaultText: '(from the Host header)' },
  { key: 'trustProxy', flag: '--trust-proxy <cidrs|hops>', env: 'JWTGATE_TRUST_PROXY', description: 'peers whose X-Forwarded-For/-Proto/-Host (and load-balancer assertions) are believed: comma-separated IPs/CIDRs, or a hop count (not with assertions)', defaultText: 'none' },
  { key: 'maxHeaderSize', flag: '--max-header-size <bytes>', env: 'JWTGATE_MAX_HEADER_SIZE', description: 'largest request head; 431 beyond', defaultText: '16384' },
  { key: 'headersTimeoutMs', flag: '--headers-timeout <seconds>', env: 'JWTGATE_HEADERS_TIMEOUT', description: 'time a client has to send the request head (slow-loris bound); 408 after it', defaultText: '10' },
  { key: 'idleTimeoutMs', flag: '--idle-timeout <seconds>', env: 'JWTGATE_IDLE_TIMEOUT', description: 'close a client socket idle this long (must exceed --upstream-timeout)', defaultText: 'upstream timeout + 10' },
  { key: 'keepAliveTimeoutMs', flag: '--keep-alive-timeout <seconds>', env: 'JWTGATE_KEEP_ALIVE_TIMEOUT', description: 'idle keep-alive time between two requests on a connection', defaultText: '5' },
  { key: 'maxBodyBytes', flag: '--max-body-size <bytes>', env: 'JWTGATE_MAX_BODY_SIZE', description: 'largest proxied request body, 413 beyond; 0 = no limit', defaultText: '0' },
  { key: 'maxLoginFailures', flag: '--max-login-failures <n>', env: 'JWTGATE_MAX_LOGIN_FAILURES', description: 'failed logins per minute per user name and per client address before 429', defaultText: '10' },
  { key: 'loginMaxWaitMs', flag: '--login-max-wait <seconds>', env: 'JWTGATE_LOGIN_MAX_WAIT', description: 'longest wait of a password check for a free hashing slot; 503 with Retry-After after it', defaultText: '5' },
  { key: 'ipv6PrefixBits', flag: '--ipv6-prefix <bits>', env: 'JWTGATE_IPV6_PREFIX', description: 'IPv6 clients count as one per prefix of this length (login throttle, password queue, tunnel limits)', defaultText: '64' },
  { key: 'tunnelIdleTimeoutMs', flag: '--tunnel-idle-timeout <seconds>', env: 'JWTGATE_TUNNEL_IDLE_TIMEOUT', description: 'close a WebSocket tunnel with no traffic either way for this long', defaultText: '300' },
  { key: 'maxTunnels', flag: '--max-tunnels <n>', env: 'JWTGATE_MAX_TUNNELS', description: 'open WebSocket tunnels at most; further upgrades get 503', defaultText: '1000' },
  { key: 'maxTunnelsPerClient', flag: '--max-tunnels-per-client <n>', env: 'JWTGATE_MAX_TUNNELS_PER_CLIENT', description: 'open WebSocket tunnels at most per client address (IPv6: per --ipv6-prefix); further upgrades get 503', defaultText: '32' },
  { key: 'auditLogFile', flag: '--audit-log <file>', env: 'JWTGATE_AUDIT_LOG', description: 'JSON-lines audit log of admin changes (API and CLI)', defaultText: '<data-dir>/audit.log' },
  { key: 'tokenTtlSeconds', flag: '--token-ttl <seconds>', env: 'JWTGATE_TOKEN_TTL', description: 'lifetime of minted tokens (exp - iat)', defaultText: '300' },
  { key: 'issuer', flag: '--issuer <url>', env: 'JWTGATE_ISSUER', description: 'iss claim of minted tokens', defaultText: 'the --public-url origin if set, else jwtgate' },
  { key: 'audience', flag: '--audience <aud>', env: 'JWTGATE_AUDIENCE', description: 'aud claim of minted tokens (none by default)', defaultText: '(none)' },
  { key: 'upstreamTimeoutMs', flag: '--upstream-timeout <seconds>', env: 'JWTGATE_UPSTREAM_TIMEOUT', description: 'time the upstream has to send response headers (504 after it) and between body chunks (the connection is cut after it)', defaultText: '60' },
  { key: 'minPasswordLength', flag: '--min-password-length <n>', env: 'JWTGATE_MIN_PASSWORD_LENGTH', description: 'minimum length of a new password', defaultText: '12' },
  { key: 'pollIntervalMs', flag: '--poll-interval <ms>', env: 'JWTGATE_POLL_INTERVAL', description: 'how often the server looks for store changes made by the CLI', defaultText: '1000' },
  { key: 'drainTimeoutMs', flag: '--drain-timeout <seconds>', env: 'JWTGATE_DRAIN_TIMEOUT', description: 'on SIGTERM, how long in-flight requests may take to finish', defaultText: '10' },
  { key: 'logLevel', flag: '--log-level <level>', env: 'JWTGATE_LOG_LEVEL', description: 'fatal|error|warn|info|debug|trace|silent', defaultText: 'info' },
  { key: 'jwksMaxAgeSeconds', flag: '--jwks-max-age <seconds>', env: 'JWTGATE_JWKS_MAX_AGE', description: 'Cache-Control max-age of /.well-known/jwks.json (at most --consumer-cache-max)', defaultText: '300' },
  { key: 'consumerCacheMaxSeconds', flag: '--consumer-cache-max <duration>', env: 'JWTGATE_CONSUMER_CACHE_MAX', description: 'longest time any JWKS consumer caches the keys without refetching (Grafana cache_ttl, Envoy cache_duration), e.g. 60m: a next key signs only once published this long, the previous key stays published token TTL + this', defaultText: '60m' },
  { key: 'rotateEverySeconds', flag: '--rotate-every <duration>', env: 'JWTGATE_ROTATE_EVERY', description: 'rotate the signing key on a schedule, e.g. 30d (units s, m, h, d; at least --consumer-cache-max); done once by whichever server sees it due, audited', defaultText: 'off' },
  { key: 'clockSkewSeconds', flag: '--clock-skew <seconds>', env: 'JWTGATE_CLOCK_SKEW', description: 'clock difference tolerated between hosts: tokens carry nbf = iat - this, and /api accepts exp, nbf and iat this far off', defaultText: '30' },
  { key: 'sessionIdleTimeoutSeconds', flag: '--session-idle-timeout <duration>', env: 'JWTGATE_SESSION_IDLE_TIMEOUT', description: 'a browser session unused this long ends (e.g. 30m, 8h)', defaultText: '8h' },
  { key: 'sessionMaxAgeSeconds', flag: '--session-max-age <duration>', env: 'JWTGATE_SESSION_MAX_AGE', description: 'a browser session ends this long after its login, however used (at least --session-idle-timeout)', defaultText: '24h' },
  { key: 'maxSessionsPerUser', flag: '--max-sessions-per-user <n>', env: 'JWTGATE_MAX_SESSIONS_PER_USER', description: 'live browser sessions per user at most; a login beyond it ends that user\'s oldest sessions', defaultText: '50' },
  { key: 'cookieSecure', flag: '--cookie-secure', env: 'JWTGATE_COOKIE_SECURE', description: 'the session cookie is Secure and named __Host-jwtgate_session (browsers then send it over https only)', defaultText: 'true when --public-url is https' },
  { key: 'allowedOrigins', flag: '--allowed-origins <origins>', env: 'JWTGATE_ALLOWED_ORIGINS', description: 'comma-separated origins (https://app.example.com) whose cookie-authenticated POST/PUT/PATCH/DELETE are accepted besides the gateway\'s own', defaultText: '(none)' },
  { key: 'requireLogin', flag: '--require-login', env: 'JWTGATE_REQUIRE_LOGIN', description: 'a /proxy request with no identity is sent to the login page (HTML) or gets 401, instead of being forwarded as anonymousUser', defaultText: 'false' },
  ...ASSERTION_OPTIONS.map(({ key, flag, env, description, defaultText, repeatable }): OptionSpec => ({ key, flag, env, description, defaultText, repeatable })),
  { key: 'identityHeaders', flag: '--identity-header <name=field>', env: 'JWTGATE_IDENTITY_HEADER', description: 'set this request header from the caller\'s identity for header-auth upstreams (repeatable); FIELD is name, roles, email or claim:<claim>, e.g. X-WEBAUTH-USER=name for Grafana; never set for anonymous callers', defaultText: '(none)', repeatable: true },
  { key: 'keyEncryptionKey', flag: null, env: 'JWTGATE_KEY_ENCRYPTION_KEY', description: 'encrypts private keys at rest (AES-256-GCM); at least 32 characters, e.g. `openssl rand -base64 32`', defaultText: '(none: keys stored in clear, file mode 0600)' },
  { key: 'adminPassword', flag: null, env: 'JWTGATE_ADMIN_PASSWORD', description: 'password of the admin user created on first start (random and printed once when unset)', defaultText: '(random)' },
];

/** Raw flag values as commander gives them (strings, true for boolean flags, arrays for repeatable ones). */
export type Flags = Partial<Record<OptionKey, string | boolean | readonly string[] | undefined>>;
export type Env = Readonly<Record<string, string | undefined>>;
