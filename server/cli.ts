#!/usr/bin/env node
/**
 * jwtgate command line: serve | keys. Exit codes: 0 success, 2 bad input (one line on stderr),
 * 1 any other failure.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { loadConfig, OPTIONS, type Flags } from './config.js';
import { importKeyCommand } from './commands/keys.js';
import { GatewayError } from './errors.js';
import { startGateway } from './gateway.js';
import { createLogger } from './log.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Adds the Config options named in `keys` to `command`, with their env var and default in the help. */
function withConfigOptions(command: Command, keys: readonly (typeof OPTIONS)[number]['key'][]): Command {
  for (const spec of OPTIONS) {
    if (!keys.includes(spec.key) || spec.flag === null) continue;
    command.addOption(new Option(spec.flag, `${spec.description} (env ${spec.env}, default ${spec.defaultText})`));
  }
  return command;
}

/** Maps commander's parsed options back to Config keys. */
function flagsOf(command: Command): Flags {
  const opts = command.opts<Record<string, string | boolean | undefined>>();
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
  .addHelpText('after', '\nExample:\n  JWTGATE_ADMIN_PASSWORD=change-me-please jwtgate serve --port 8080 --data-dir ./data\n\nEnvironment only:\n  JWTGATE_ADMIN_PASSWORD  password of the admin user created on first start (random and printed once when unset)')
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

const keys = program.command('keys').description('manage the signing keys');
withConfigOptions(keys.command('import').description('import an RSA private key (PKCS#8 or PKCS#1 PEM, >= 2048 bits) and make it the active signing key'), ['dataDir', 'tokenTtlSeconds'])
  .requiredOption('--private-key <file>', 'PEM file of the private key')
  .option('--grace <seconds>', 'how long the previous key stays published (default: 2 x token TTL + 60)')
  .addHelpText('after', '\nExample:\n  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out key.pem\n  jwtgate keys import --data-dir ./data --private-key key.pem')
  .action(async (opts: { privateKey: string; grace?: string }, command: Command) => {
    const config = loadConfig(flagsOf(command));
    const kid = await importKeyCommand(config, opts.privateKey, opts.grace);
    process.stdout.write(`${kid}\n`);
  });

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

program.parseAsync(process.argv).catch(fail);
