/** `jwtgate token mint|verify`: tokens for testing upstreams, checked against the store's published keys. */
import type { Config } from '../config.js';
import { InvalidInputError } from '../errors.js';
import { ANONYMOUS_NAME, validateRoles, validateUserName } from '../identity/index.js';
import { keyEncryptionOf, KeySet, mintToken, NoSigningKeyError, verifyToken } from '../tokens/index.js';
import { auditCli, printJson, splitList, withStore } from './common.js';

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

export async function verifyCommand(config: TokenConfig, token: string): Promise<void> {
  const keys = await withStore(config, async (store) => KeySet.publicOnly(await store.listKeys(), Date.now()));
  const identity = await verifyToken(token.trim(), keys, { issuer: config.issuer, audience: config.audience, clockToleranceSeconds: config.clockSkewSeconds });
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  printJson({ valid: true, kid: JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')).kid, sub: identity.name, authorities: identity.roles, claims: payload });
}
