#!/usr/bin/env node
/**
 * jwtgate command line: serve | keys | users | proxy | token. Exit codes: 0 success, 2 bad input (one line on stderr),
 * 1 any other failure.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Help, Option } from 'commander';
import { loadConfig, OPTIONS, type Flags, type OptionSpec } from './config.js';
import { backupCommand, configOf, deleteUserCommand, exportCommand, getProxyCommand, importCommand, listCommand, listSessionsCommand, listUsersCommand, mintCommand, revokeSessionsCommand, rotateCommand, rotateSessionSecretCommand, setProxyCommand, setUserCommand, verifyCommand, type RotateFlags } from './commands/index.js';
import { GatewayError } from './errors.js';
import { startGateway } from './gateway/index.js';
import { createLogger } from './log.js';
import { SESSION_LIST_LIMIT } from './sessions/index.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** One flag of OPTIONS; a repeatable one collects its values in an array (`--role-map a=X --role-map b=Y`). */
function configOption(spec: OptionSpec & { flag: string }): Option {
  const option = new Option(spec.flag, `${spec.description} (env ${spec.env}${spec.repeatable ? ': one entry per line, or separated by commas or spaces' : ''}, default ${spec.defaultText})`);
  return spec.repeatable ? option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]) : option;
}

/**
 * Adds the Config options named in `keys` to `command`, with their env var and default in the help;
 * the environment-only ones (no flag) get an "Environment:" section, from the same table.
 */
function withConfigOptions(command: Command, keys: readonly (typeof OPTIONS)[number]['key'][]): Command {
  const envOnly: OptionSpec[] = [];
  for (const spec of OPTIONS) {
    if (!keys.includes(spec.key)) continue;
    if (spec.flag === null) envOnly.push(spec);
    else command.addOption(configOption({ ...spec, flag: spec.flag }));
  }
  if (envOnly.length > 0) {
    // Laid out like commander's own option list (same width, same wrapping).
    const help = new Help();
    const width = Math.max(...envOnly.map((spec) => spec.env.length));
    command.addHelpText('after', `\nEnvironment:\n${envOnly.map((spec) => help.formatItem(spec.env, width, `${spec.description} (default ${spec.defaultText})`, help)).join('\n')}`);
  }
  return command;
}

/** Maps commander's parsed options back to Config keys. */
function flagsOf(command: Command): Flags {
  const opts = command.opts<Record<string, string | boolean | string[] | undefined>>();
  const flags: Flags = {};
  for (const spec of OPTIONS) {
    if (spec.flag === null) continue;
    const attribute = new Option(spec.flag).attributeName();
    if (opts[attribute] !== undefined) flags[spec.key] = opts[attribute];
  }
  return flags;
}

const program = new Command('jwtgate')
  .description('Identity-forwarding gateway: basic-auth users in, an RS512 JWT to the upstream out.')
  .version(pkg.version)
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(str) })
  .showHelpAfterError('(run with --help for usage)');

withConfigOptions(program.command('serve').description('run the gateway'), OPTIONS.map((o) => o.key))
  .addHelpText('after', '\nExample:\n  JWTGATE_ADMIN_PASSWORD=change-me-please jwtgate serve --port 8080 --data-dir ./data')
  .action(async (_opts: unknown, command: Command) => {
    const config = loadConfig(flagsOf(command));
    const log = createLogger(config.logLevel);
    const gateway = await startGateway(config, log);
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down: draining in-flight requests');
      gateway.close().then(
        () => {
          log.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ err: (err as Error).message }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });

const example = (text: string) => `\nExample:\n${text.split('\n').map((l) => `  ${l}`).join('\n')}`;
const KEY_OPTIONS = ['dataDir', 'tokenTtlSeconds', 'jwksMaxAgeSeconds', 'consumerCacheMaxSeconds', 'auditLogFile', 'keyEncryptionKey'] as const;
/** jwtgate 0.1's timing options: still parsed, so that a script using them gets the reason they are gone (exit 2). */
const removedTimingOptions = (command: Command) =>
  command.addOption(new Option('--publish-delay <seconds>').hideHelp()).addOption(new Option('--grace <seconds>').hideHelp());

const keys = program.command('keys').description('manage the signing keys (a next key is always published before it signs)');
removedTimingOptions(withConfigOptions(keys.command('rotate').description('the next key signs now, a new next key is published, the previous key stays published for the grace (token TTL + --consumer-cache-max)'), KEY_OPTIONS))
  .option('--bits <bits>', 'RSA modulus length of the new key(s): 2048, 3072 or 4096', '2048')
  .option('--force', 'rotate even if the next key was published less than --consumer-cache-max ago (consumers that cached the JWKS before may refuse its tokens)')
  .option('--revoke-current', 'emergency: the active and next keys leave the JWKS now, a fresh key signs (verifiers that cache the JWKS refuse new tokens until their cache expires)')
  .addHelpText('after', example('jwtgate keys rotate --data-dir ./data\njwtgate keys rotate --revoke-current --data-dir ./data   # the active key leaked'))
  .action(async (opts: RotateFlags, command: Command) => rotateCommand(configOf(flagsOf(command)), opts));
removedTimingOptions(withConfigOptions(keys.command('import').description('import an RSA private key (PKCS#8 or PKCS#1 PEM, >= 2048 bits): it signs at once in a store without an active key, else it becomes the next key'), KEY_OPTIONS))
  .requiredOption('--private-key <file>', 'PEM file of the private key')
  .addHelpText('after', example('openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out key.pem\njwtgate keys import --data-dir ./data --private-key key.pem'))
  .action(async (opts: { privateKey: string; grace?: string; publishDelay?: string }, command: Command) => importCommand(configOf(flagsOf(command)), opts.privateKey, opts));
withConfigOptions(keys.command('list').description('list the keys: kid, state (next, active, retiring, retired), bits, created, published, activates, notAfter'), ['dataDir'])
  .option('--json', 'machine-readable output')
  .addHelpText('after', example('jwtgate keys list --data-dir ./data --json'))
  .action(async (opts: { json?: boolean }, command: Command) => listCommand(configOf(flagsOf(command)), opts.json === true));
withConfigOptions(keys.command('export').description('print public key material: the active key as PEM, or the published JWKS'), ['dataDir'])
  .option('--format <format>', 'pem or jwks', 'pem')
  .option('--kid <kid>', 'one published key instead of the active key (pem) or all published keys (jwks)')
  .addHelpText('after', example('jwtgate keys export --format pem --data-dir ./data > gateway.pem'))
  .action(async (opts: { format?: string; kid?: string }, command: Command) => exportCommand(configOf(flagsOf(command)), opts.format, opts.kid));

const users = program.command('users').description('manage the users (same rules as the admin API)');
withConfigOptions(users.command('list').description('list users: name, whether a password is set, roles'), ['dataDir'])
  .option('--json', 'machine-readable output')
  .addHelpText('after', example('jwtgate users list --data-dir ./data'))
  .action(async (opts: { json?: boolean }, command: Command) => listUsersCommand(configOf(flagsOf(command)), opts.json === true));
withConfigOptions(users.command('set').argument('<name>', 'user name').description('create or update a user; the password is read from standard input, never from the command line'), ['dataDir', 'minPasswordLength', 'auditLogFile'])
  .option('--roles <roles>', 'comma-separated roles, taken as written (no spaces), replacing the current ones ("" for none)')
  .option('--password-stdin', 'read the password from the first line of standard input')
  .addHelpText('after', example("printf '%s\\n' \"$ALICE_PASSWORD\" | jwtgate users set Alice --roles ROLE_USER,ROLE_WONDERLAND --password-stdin"))
  .action(async (name: string, opts: { roles?: string; passwordStdin?: boolean }, command: Command) => setUserCommand(configOf(flagsOf(command)), name, opts));
withConfigOptions(users.command('delete').argument('<name>', 'user name').description('delete a user'), ['dataDir', 'auditLogFile'])
  .addHelpText('after', example('jwtgate users delete Alice --data-dir ./data'))
  .action(async (name: string, _opts: unknown, command: Command) => deleteUserCommand(configOf(flagsOf(command)), name));

const sessions = program.command('sessions').description('browser sessions (the login page): list, end, rotate the cookie secret');
withConfigOptions(sessions.command('list').description('live sessions: handle, user, created, last seen, expiry, client'), ['dataDir', 'sessionIdleTimeoutSeconds', 'sessionMaxAgeSeconds'])
  .option('--user <name>', 'only this user\'s sessions')
  .option('--limit <n>', `the newest N at most, 1 to ${SESSION_LIST_LIMIT.max} (default ${SESSION_LIST_LIMIT.default}); a warning on stderr says when there are more`)
  .option('--json', 'machine-readable output')
  .addHelpText('after', example('jwtgate sessions list --user Alice --data-dir ./data'))
  .action(async (opts: { user?: string; json?: boolean; limit?: string }, command: Command) => listSessionsCommand(configOf(flagsOf(command)), opts));
withConfigOptions(sessions.command('revoke').argument('[handle]', 'the session to end (from sessions list)').description('end one session, or all of a user\'s (--user)'), ['dataDir', 'auditLogFile', 'sessionIdleTimeoutSeconds', 'sessionMaxAgeSeconds'])
  .option('--user <name>', 'end every session of this user')
  .addHelpText('after', example('jwtgate sessions revoke --user Alice --data-dir ./data'))
  .action(async (handle: string | undefined, opts: { user?: string }, command: Command) => revokeSessionsCommand(configOf(flagsOf(command)), handle, opts));
withConfigOptions(sessions.command('rotate-secret').description('a new secret signs session cookies; the older ones keep verifying until --session-max-age has passed'), ['dataDir', 'auditLogFile', 'sessionIdleTimeoutSeconds', 'sessionMaxAgeSeconds'])
  .addHelpText('after', example('jwtgate sessions rotate-secret --data-dir ./data'))
  .action(async (_opts: unknown, command: Command) => rotateSessionSecretCommand(configOf(flagsOf(command))));

const proxy = program.command('proxy').description('the proxy target URL');
withConfigOptions(proxy.command('get').description('print the target URL, or (disabled)'), ['dataDir'])
  .option('--json', 'machine-readable output')
  .addHelpText('after', example('jwtgate proxy get --data-dir ./data'))
  .action(async (opts: { json?: boolean }, command: Command) => getProxyCommand(configOf(flagsOf(command)), opts.json === true));
withConfigOptions(proxy.command('set').argument('<url>', 'http(s)://host[:port][/base]').description('forward /proxy/* to URL'), ['dataDir', 'auditLogFile'])
  .addHelpText('after', example('jwtgate proxy set http://127.0.0.1:8000 --data-dir ./data'))
  .action(async (url: string, _opts: unknown, command: Command) => setProxyCommand(configOf(flagsOf(command)), url));
withConfigOptions(proxy.command('disable').description('stop forwarding: /proxy answers 501'), ['dataDir', 'auditLogFile'])
  .addHelpText('after', example('jwtgate proxy disable --data-dir ./data'))
  .action(async (_opts: unknown, command: Command) => setProxyCommand(configOf(flagsOf(command)), null));

const token = program.command('token').description('tokens for testing upstreams');
withConfigOptions(token.command('mint').description('print a token signed by the active key (audited)'), ['dataDir', 'issuer', 'audience', 'tokenTtlSeconds', 'clockSkewSeconds', 'publicUrl', 'auditLogFile', 'keyEncryptionKey'])
  .requiredOption('--sub <name>', 'the sub claim')
  .option('--roles <roles>', 'comma-separated authorities', '')
  .option('--ttl <seconds>', 'lifetime (default: --token-ttl)')
  .addHelpText('after', example('curl -H "Authorization: Bearer $(jwtgate token mint --sub Alice --roles ROLE_USER)" http://127.0.0.1:8000/whoami?mode=jwt'))
  .action(async (opts: { sub?: string; roles?: string; ttl?: string }, command: Command) => mintCommand(configOf(flagsOf(command)), opts));
withConfigOptions(token.command('verify').argument('[token]', 'a JWT, or - (the default) to read it from standard input; on the command line other local users can read it').description("check a token against the store's published keys and print its claims, or which claim fails and why"), ['dataDir', 'issuer', 'audience', 'clockSkewSeconds', 'publicUrl'])
  .addHelpText('after', example('printf \'%s\\n\' "$TOKEN" | jwtgate token verify --data-dir ./data'))
  .action(async (jwt: string | undefined, _opts: unknown, command: Command) => verifyCommand(configOf(flagsOf(command)), jwt));

const store = program.command('store').description('the embedded SQLite store');
withConfigOptions(store.command('backup').argument('<file>', 'the backup file to write (mode 0600)').description('copy the store to FILE, consistently, while the server runs (holds the private keys: keep it secret)'), ['dataDir', 'auditLogFile'])
  .option('--force', 'replace FILE if it exists')
  .addHelpText('after', example('jwtgate store backup --data-dir /var/lib/jwtgate /var/backups/jwtgate/jwtgate-$(date +%F).sqlite'))
  .action(async (file: string, opts: { force?: boolean }, command: Command) => backupCommand(configOf(flagsOf(command)), file, opts.force === true));

function fail(err: unknown): never {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
    process.exit(2);
  }
  if (err instanceof GatewayError) {
    process.stderr.write(`jwtgate: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`jwtgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

// A reader that stops early (`jwtgate users list | head -1`) closes the pipe. Every command has
// done its work before it prints, so that is a success: exit 0, quietly (docs/cli.md).
process.stdout.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? process.exit(0) : fail(err)));
process.stderr.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? (process.exitCode ?? 0) : 1));

program.parseAsync(process.argv).catch(fail);
