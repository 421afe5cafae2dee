/**
 * One typed Config, from command-line flags > environment (JWTGATE_*) > defaults, validated
 * once at start with every problem reported together. This is the only module that reads
 * `process.env`.
 */
import path from 'node:path';
import { ConfigError } from './errors.js';
import { ASSERTION_OPTIONS, booleanOption as bool, parseAssertionOptions, type RawAssertionOptions, type RepeatableValue } from './identity/index.js';
import { isLoopbackAddress } from './ip-address.js';
import { parseIdentityHeaders, parseTrustProxy, type TrustProxy } from './proxy/index.js';
import { OPTIONS, type Config, type Env, type Flags, type OptionKey } from './config-options.js';

export { OPTIONS, type Config, type Env, type Flags, type OptionSpec } from './config-options.js';


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
  const raw = (key: OptionKey): { value: string | boolean; name: string } | undefined => {
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
  const repeated = (key: OptionKey): RepeatableValue | undefined => {
    const flag = flags[key];
    return typeof flag === 'object' ? flag : raw(key)?.value.toString();
  };
  const str = (key: OptionKey, fallback: string): string => {
    const r = raw(key);
    return r === undefined ? fallback : String(r.value);
  };
  const int = (key: OptionKey, fallback: number, min: number, max: number): number => {
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
  const durationOf = (key: OptionKey, fallback: number, min: number, max: number) => {
    const r = raw(key);
    return r === undefined ? fallback : (durationIn(String(r.value), r.name, min, max, problems) ?? fallback);
  };
  const sessionIdleTimeoutSeconds = durationOf('sessionIdleTimeoutSeconds', 8 * 3600, 1, 30 * 86_400);
  const sessionMaxAgeSeconds = durationOf('sessionMaxAgeSeconds', 24 * 3600, 1, 365 * 86_400);
  if (sessionMaxAgeSeconds < sessionIdleTimeoutSeconds) problems.push(`--session-max-age (${sessionMaxAgeSeconds} s) must be at least --session-idle-timeout (${sessionIdleTimeoutSeconds} s)`);
  const maxSessionsPerUser = int('maxSessionsPerUser', 50, 1, 10_000);
  const flag = (key: OptionKey) => {
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
