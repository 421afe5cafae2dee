/**
 * One typed Config, from command-line flags > environment (JWTGATE_*) > defaults, validated
 * once at start with every problem reported together. This is the only module that reads
 * `process.env`.
 */
import path from 'node:path';
import { ConfigError } from './errors.js';
import { ASSERTION_OPTIONS, booleanOption as bool, parseAssertionOptions, type AssertionOptions, type RawAssertionOptions, type RepeatableValue } from './identity/index.js';
import { isLoopbackAddress } from './ip-address.js';
import { parseIdentityHeaders, parseTrustProxy, type IdentityHeaderSpec, type TrustProxy } from './proxy/index.js';

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
type Key = Exclude<keyof Config, 'assertions'> | keyof RawAssertionOptions;

export interface OptionSpec {
  key: Key;
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
export type Flags = Partial<Record<Key, string | boolean | readonly string[] | undefined>>;
export type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function intIn(raw: string, name: string, min: number, max: number, problems: string[]): number {
  if (!/^\d+$/.test(raw.trim())) {
    problems.push(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
    return min;
  }
  const n = Number(raw.trim());
  if (n < min || n > max) problems.push(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds from `90`, `90s`, `15m`, `12h` or `30d`; null (and a problem) otherwise or out of range. */
function durationIn(raw: string, name: string, min: number, max: number, problems: string[]): number | null {
  const m = /^(\d+)([smhd]?)$/.exec(raw.trim());
  const seconds = m ? Number(m[1]) * DURATION_UNITS[m[2]!]! : NaN;
  if (!(seconds >= min && seconds <= max)) {
    problems.push(`${name} must be a duration between ${min} s and ${max / 86_400} d such as 3600, 60m, 12h or 30d, got ${JSON.stringify(raw)}`);
    return null;
  }
  return seconds;
}

function hasControlChars(s: string): boolean {
  return /[\u0000-\u001f\u007f]/.test(s);
}

/** Reads the environment of this process; the only `process.env` access in the code base. */
export function processEnv(): Env {
  return process.env;
}

/**
 * Builds the Config from flags > env > defaults. Throws one ConfigError listing every problem.
 */
export function loadConfig(flags: Flags, env: Env = processEnv()): Config {
  const problems: string[] = [];
  const raw = (key: Key): { value: string | boolean; name: string } | undefined => {
    const spec = OPTIONS.find((o) => o.key === key);
    if (!spec) throw new Error(`no option ${key}`);
    const flagName = spec.flag ? spec.flag.split(' ')[0]! : spec.env;
    const flag = flags[key];
    if (flag !== undefined) return { value: typeof flag === 'object' ? flag.join(',') : flag, name: flagName };
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined) return { value: fromEnv, name: spec.env };
    return undefined;
  };
  /** A repeatable option: the repeated flag's values, else the variable's text (split by repeatedEntries). */
  const repeated = (key: Key): RepeatableValue | undefined => {
    const flag = flags[key];
    return typeof flag === 'object' ? flag : raw(key)?.value.toString();
  };
  const str = (key: Key, fallback: string): string => {
    const r = raw(key);
    return r === undefined ? fallback : String(r.value);
  };
  const int = (key: Key, fallback: number, min: number, max: number): number => {
    const r = raw(key);
    return r === undefined ? fallback : intIn(String(r.value), r.name, min, max, problems);
  };

  const host = str('host', '127.0.0.1').trim();
  if (host === '' || hasControlChars(host) || /[\s/?#@]/.test(host)) problems.push(`--host must be a host name or IP address, got ${JSON.stringify(host)}`);
  const port = int('port', 8080, 0, 65535);
  const dataDirRaw = str('dataDir', './data');
  if (dataDirRaw.trim() === '') problems.push('--data-dir must not be empty');
  const insecureRaw = raw('insecure');
  const insecure = insecureRaw === undefined ? false : bool(insecureRaw.value, insecureRaw.name, problems);
  const tokenTtlSeconds = int('tokenTtlSeconds', 300, 10, 86_400);
  const issuer = str('issuer', 'jwtgate');
  if (issuer.trim() === '' || hasControlChars(issuer) || issuer.length > 512) problems.push('--issuer must be a non-empty string of at most 512 characters without control characters');
  const audienceRaw = raw('audience');
  const audience = audienceRaw === undefined ? null : String(audienceRaw.value);
  if (audience !== null && (audience.trim() === '' || hasControlChars(audience) || audience.length > 512)) problems.push('--audience must be a non-empty string of at most 512 characters without control characters');
  const upstreamTimeoutMs = int('upstreamTimeoutMs', 60, 1, 3600) * 1000;
  const minPasswordLength = int('minPasswordLength', 12, 1, 1024);
  const pollIntervalMs = int('pollIntervalMs', 1000, 50, 5000);
  const drainTimeoutMs = int('drainTimeoutMs', 10, 0, 3600) * 1000;
  const logLevelRaw = str('logLevel', 'info');
  const logLevel = (LOG_LEVELS as readonly string[]).includes(logLevelRaw) ? (logLevelRaw as Config['logLevel']) : 'info';
  if (logLevel !== logLevelRaw) problems.push(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevelRaw)}`);
  const adminPasswordRaw = raw('adminPassword');
  const adminPassword = adminPasswordRaw === undefined || adminPasswordRaw.value === '' ? null : String(adminPasswordRaw.value);
  if (adminPassword !== null && adminPassword.length < minPasswordLength) problems.push(`JWTGATE_ADMIN_PASSWORD must have at least ${minPasswordLength} characters`);

  const jwksMaxAgeSeconds = int('jwksMaxAgeSeconds', 300, 0, 86_400);
  const consumerCacheRaw = raw('consumerCacheMaxSeconds');
  const consumerCacheMaxSeconds = consumerCacheRaw === undefined ? 3600 : (durationIn(String(consumerCacheRaw.value), consumerCacheRaw.name, 0, 30 * 86_400, problems) ?? 3600);
  if (consumerCacheMaxSeconds < jwksMaxAgeSeconds) {
    problems.push(`--consumer-cache-max (${consumerCacheMaxSeconds} s) must be at least --jwks-max-age (${jwksMaxAgeSeconds} s): a consumer honouring max-age caches the JWKS that long`);
  }
  const rotateEveryRaw = raw('rotateEverySeconds');
  const rotateEveryText = rotateEveryRaw === undefined ? 'off' : String(rotateEveryRaw.value).trim();
  const rotateEverySeconds = rotateEveryText === 'off' || rotateEveryText === '' ? null : durationIn(rotateEveryText, rotateEveryRaw!.name, 1, 3650 * 86_400, problems);
  if (rotateEverySeconds !== null && rotateEverySeconds < consumerCacheMaxSeconds) {
    problems.push(`--rotate-every (${rotateEverySeconds} s) must be at least --consumer-cache-max (${consumerCacheMaxSeconds} s): each rotation signs with the key published at the previous one, which every consumer must have by then`);
  }
  const clockSkewSeconds = int('clockSkewSeconds', 30, 0, 600);
  const durationOf = (key: Key, fallback: number, min: number, max: number) => {
    const r = raw(key);
    return r === undefined ? fallback : (durationIn(String(r.value), r.name, min, max, problems) ?? fallback);
  };
  const sessionIdleTimeoutSeconds = durationOf('sessionIdleTimeoutSeconds', 8 * 3600, 1, 30 * 86_400);
  const sessionMaxAgeSeconds = durationOf('sessionMaxAgeSeconds', 24 * 3600, 1, 365 * 86_400);
  if (sessionMaxAgeSeconds < sessionIdleTimeoutSeconds) problems.push(`--session-max-age (${sessionMaxAgeSeconds} s) must be at least --session-idle-timeout (${sessionIdleTimeoutSeconds} s)`);
  const maxSessionsPerUser = int('maxSessionsPerUser', 50, 1, 10_000);
  const flag = (key: Key) => {
    const r = raw(key);
    return r === undefined ? undefined : bool(r.value, r.name, problems);
  };
  const requireLogin = flag('requireLogin') ?? false;
  const allowedOrigins = new Set<string>();
  for (const entry of str('allowedOrigins', '').split(',').map((e) => e.trim()).filter(Boolean)) {
    let origin: string | null = null;
    try {
      const url = new URL(entry);
      if ((url.protocol === 'http:' || url.protocol === 'https:') && url.origin === entry.replace(/\/$/, '')) origin = url.origin;
    } catch {
      // reported below
    }
    if (origin === null) problems.push(`--allowed-origins: ${JSON.stringify(entry)} is not an origin (scheme://host[:port], nothing after)`);
    else allowedOrigins.add(origin);
  }
  const kekRaw = raw('keyEncryptionKey');
  const keyEncryptionKey = kekRaw === undefined || kekRaw.value === '' ? null : String(kekRaw.value);
  if (keyEncryptionKey !== null && keyEncryptionKey.length < 32) problems.push('JWTGATE_KEY_ENCRYPTION_KEY must have at least 32 characters (e.g. `openssl rand -base64 32`)');

  const allowInsecureRemoteRaw = raw('allowInsecureRemote');
  const allowInsecureRemote = allowInsecureRemoteRaw === undefined ? false : bool(allowInsecureRemoteRaw.value, allowInsecureRemoteRaw.name, problems);
  if (insecure && !isLoopbackHost(host) && !allowInsecureRemote) {
    // Name the setting where the user gave it: a flag, or a variable in the environment.
    problems.push(`${insecureRaw!.name} makes every caller an administrator: refused on the non-loopback host ${host} unless --allow-insecure-remote (or JWTGATE_ALLOW_INSECURE_REMOTE) is given too`);
  }
  const publicUrlRaw = raw('publicUrl');
  let publicUrl: URL | null = null;
  if (publicUrlRaw !== undefined && publicUrlRaw.value !== '') {
    try {
      publicUrl = new URL(String(publicUrlRaw.value));
      if (!['http:', 'https:'].includes(publicUrl.protocol) || publicUrl.username || publicUrl.password || publicUrl.search || publicUrl.hash || publicUrl.pathname !== '/') throw new Error('shape');
    } catch {
      problems.push(`--public-url must be http(s)://host[:port] without path, credentials, query or fragment, got ${JSON.stringify(publicUrlRaw.value)}`);
    }
  }
  const cookieSecureFlag = flag('cookieSecure');
  const trustParsed = parseTrustProxy(str('trustProxy', ''));
  if (typeof trustParsed === 'string') problems.push(trustParsed);
  const maxHeaderSize = int('maxHeaderSize', 16_384, 1024, 1_048_576);
  const headersTimeoutMs = int('headersTimeoutMs', 10, 1, 600) * 1000;
  const idleTimeoutMs = int('idleTimeoutMs', upstreamTimeoutMs / 1000 + 10, 1, 7200) * 1000;
  if (idleTimeoutMs <= upstreamTimeoutMs) problems.push('--idle-timeout must be longer than --upstream-timeout (a client waiting for a slow upstream is idle)');
  const keepAliveTimeoutMs = int('keepAliveTimeoutMs', 5, 1, 600) * 1000;
  const maxBodyBytes = int('maxBodyBytes', 0, 0, Number.MAX_SAFE_INTEGER);
  const maxLoginFailures = int('maxLoginFailures', 10, 1, 100_000);
  const loginMaxWaitMs = int('loginMaxWaitMs', 5, 1, 600) * 1000;
  const ipv6PrefixBits = int('ipv6PrefixBits', 64, 16, 128);
  const tunnelIdleTimeoutMs = int('tunnelIdleTimeoutMs', 300, 1, 86_400) * 1000;
  const maxTunnels = int('maxTunnels', 1000, 1, 1_000_000);
  const maxTunnelsPerClient = int('maxTunnelsPerClient', 32, 1, 1_000_000);
  const auditLogRaw = str('auditLogFile', '');

  const assertionRaw: Record<string, string | boolean | RepeatableValue> = {};
  for (const spec of ASSERTION_OPTIONS) {
    const value = spec.repeatable ? repeated(spec.key) : raw(spec.key)?.value;
    if (value !== undefined) assertionRaw[spec.key] = value;
  }
  const assertions = parseAssertionOptions(assertionRaw as RawAssertionOptions, { host, allowInsecureRemote, trustProxy: typeof trustParsed === 'string' ? null : trustParsed });
  if (!assertions.ok) problems.push(...assertions.problems);
  const identityHeaders = parseIdentityHeaders(repeated('identityHeaders'));
  if (!identityHeaders.ok) problems.push(...identityHeaders.problems);

  if (problems.length > 0 || !assertions.ok || !identityHeaders.ok) throw new ConfigError(problems);
  return {
    host,
    port,
    dataDir: path.resolve(dataDirRaw),
    insecure,
    allowInsecureRemote,
    publicUrl,
    trustProxy: trustParsed as TrustProxy,
    maxHeaderSize,
    headersTimeoutMs,
    idleTimeoutMs,
    keepAliveTimeoutMs,
    maxBodyBytes,
    maxLoginFailures,
    loginMaxWaitMs,
    ipv6PrefixBits,
    tunnelIdleTimeoutMs,
    maxTunnels,
    maxTunnelsPerClient,
    auditLogFile: auditLogRaw === '' ? path.join(path.resolve(dataDirRaw), 'audit.log') : path.resolve(auditLogRaw),
    tokenTtlSeconds,
    // Without --issuer, a gateway that knows its public URL names itself by it.
    issuer: raw('issuer') === undefined && publicUrl !== null ? publicUrl.origin : issuer,
    audience,
    upstreamTimeoutMs,
    adminPassword,
    minPasswordLength,
    pollIntervalMs,
    drainTimeoutMs,
    jwksMaxAgeSeconds,
    consumerCacheMaxSeconds,
    rotateEverySeconds,
    clockSkewSeconds,
    sessionIdleTimeoutSeconds,
    sessionMaxAgeSeconds,
    maxSessionsPerUser,
    cookieSecure: cookieSecureFlag ?? publicUrl?.protocol === 'https:',
    allowedOrigins,
    requireLogin,
    keyEncryptionKey,
    logLevel,
    assertions: assertions.options,
    identityHeaders: identityHeaders.headers,
  };
}

/** True for loopback-only hosts. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}
