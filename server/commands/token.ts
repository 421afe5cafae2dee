/** `jwtgate token mint|verify`: tokens for testing upstreams, checked against the store's published keys. */
import type { Config } from '../config.js';
import { InvalidInputError, InvalidTokenError } from '../errors.js';
import { ANONYMOUS_NAME, validateRoles, validateUserName, type Identity } from '../identity/index.js';
import { keyEncryptionOf, KeySet, mintToken, NoSigningKeyError, verifyToken } from '../tokens/index.js';
import { auditCli, printJson, readFirstLine, splitList, withStore } from './common.js';
import { explainRefusal } from './token-explain.js';

type TokenConfig = Pick<Config, 'dataDir' | 'issuer' | 'audience' | 'tokenTtlSeconds' | 'keyEncryptionKey' | 'auditLogFile' | 'clockSkewSeconds'>;

export async function mintCommand(config: TokenConfig, flags: { sub?: string; roles?: string; ttl?: string }): Promise<void> {
  // The same rules as user names; anonymousUser is allowed here, to test what anonymous callers get.
  const sub = flags.sub === ANONYMOUS_NAME ? ANONYMOUS_NAME : validateUserName(flags.sub ?? '');
  const roles = validateRoles(splitList(flags.roles) ?? []);
  const ttl = flags.ttl === undefined ? config.tokenTtlSeconds : Number(flags.ttl);
  if (!Number.isInteger(ttl) || ttl < 10 || ttl > 86_400) throw new InvalidInputError(`--ttl must be 10 to 86400 seconds (as --token-ttl), got ${JSON.stringify(flags.ttl)}`);
  const keys = await withStore(config, async (store) => new KeySet(await store.listKeys(), Date.now(), keyEncryptionOf(config)));
  if (!keys.active) throw new NoSigningKeyError('the store has no active signing key (start the server once, or run keys rotate)');
  auditCli(config, { action: 'token.mint', target: sub, details: { roles, ttl, kid: keys.active.kid } });
  process.stdout.write(`${await mintToken(keys.active, { name: sub, roles }, { issuer: config.issuer, audience: config.audience, ttlSeconds: ttl, clockSkewSeconds: config.clockSkewSeconds })}\n`);
}

/** The token from the argument (with a warning: other local users can read it) or, for `-` or none, from standard input. */
async function tokenInput(arg: string | undefined): Promise<string> {
  if (arg !== undefined && arg !== '-') {
    process.stderr.write('jwtgate: warning: a token on the command line is readable by other local users (ps, /proc/<pid>/cmdline); pass - and give it on standard input\n');
    return arg.trim();
  }
  if (process.stdin.isTTY) process.stderr.write('jwtgate: reading the token from standard input (end with Ctrl-D)\n');
  const token = (await readFirstLine()).trim();
  if (token === '') throw new InvalidInputError('no token on standard input');
  return token;
}

export async function verifyCommand(config: TokenConfig, arg: string | undefined): Promise<void> {
  const token = await tokenInput(arg);
  const keys = await withStore(config, async (store) => KeySet.publicOnly(await store.listKeys(), Date.now()));
  const expect = { issuer: config.issuer, audience: config.audience, clockToleranceSeconds: config.clockSkewSeconds };
  let identity: Identity;
  try {
    identity = await verifyToken(token, keys, expect);
  } catch (err) {
    if (!(err instanceof InvalidTokenError)) throw err;
    const reasons = explainRefusal(token, keys.published, { ...expect, now: Date.now() });
    throw new InvalidTokenError(reasons.length > 0 ? `the token does not verify: ${reasons.join('; ')}` : err.message);
  }
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  printJson({ valid: true, kid: JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')).kid, sub: identity.name, authorities: identity.roles, claims: payload });
}
