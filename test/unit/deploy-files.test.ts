/**
 * The shipped deploy/ files agree with jwtgate and with each other: the systemd unit passes
 * `systemd-analyze verify` and a hardening bar, its ExecStart flags are flags `serve` accepts,
 * and nginx, Caddy and the unit name the same address, host and timeouts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../server/errors.js';
import { loadConfig, OPTIONS, type Config, type Env, type Flags } from '../../server/config.js';
import { CADDYFILE, ENV_EXAMPLE, execStart, missingBinary, NGINX_SITE, PUBLIC_HOST, serveArgs, template, UNIT, unitValue } from '../helpers/deploy-files.js';
import { CLI, ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/process.js';

const unit = fs.readFileSync(UNIT, 'utf8');
const nginx = fs.readFileSync(NGINX_SITE, 'utf8');
const caddy = fs.readFileSync(CADDYFILE, 'utf8');

/** The ExecStart flags as commander would hand them to loadConfig; unknown flags fail. */
function flagsOf(args: readonly string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const spec = OPTIONS.find((o) => o.flag?.split(' ')[0] === args[i]);
    assert.ok(spec, `ExecStart passes ${args[i]}, which jwtgate serve does not accept`);
    if (spec.flag!.includes('<')) flags[spec.key] = args[++i];
    else flags[spec.key] = true;
  }
  return flags;
}

/** KEY=value lines of the env file example. */
function envOf(text: string): Env {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

const seconds = (value: string | undefined, what: string): number => {
  const m = /^(\d+)s$/.exec(value ?? '');
  assert.ok(m, `${what}: expected a number of seconds like 70s, got ${value}`);
  return Number(m[1]);
};
const directive = (text: string, pattern: RegExp, what: string): string => {
  const m = pattern.exec(text);
  assert.ok(m, `${what} not found`);
  return m[1]!;
};

const config: Config = loadConfig(flagsOf(serveArgs()), envOf(fs.readFileSync(ENV_EXAMPLE, 'utf8')));

describe('deploy/jwtgate.service', () => {
  const systemdAnalyze = '/usr/bin/systemd-analyze';
  const skip = missingBinary(systemdAnalyze, 'systemd');
  /** The unit with this machine's node and CLI, so `verify` checks executables that exist. */
  const localUnit = () => {
    const dir = tempDir();
    const file = path.join(dir, 'jwtgate.service');
    fs.writeFileSync(file, template(unit, [['/usr/bin/node ', `${process.execPath} `, 1], ['/opt/jwtgate/bin/jwtgate', path.join(ROOT, 'bin/jwtgate'), 1]]));
    return file;
  };

  it('passes systemd-analyze verify without a single warning', { skip }, () => {
    const result = spawnSync(systemdAnalyze, ['verify', '--man=no', localUnit()], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr + result.stdout, '', 'systemd-analyze verify printed warnings');
  });

  it('is hardened: systemd-analyze security rates its exposure at most 2.0 (OK)', { skip }, () => {
    // --threshold counts tenths: 20 is an exposure of 2.0.
    const result = spawnSync(systemdAnalyze, ['security', '--offline=yes', '--threshold=20', '--no-pager', localUnit()], { encoding: 'utf8' });
    const level = /Overall exposure level for [^:]+: ([\d.]+)/.exec(result.stdout)?.[1];
    assert.equal(result.status, 0, `exposure ${level}:\n${result.stdout}${result.stderr}`);
    assert.ok(Number(level) <= 2.0, `exposure ${level}`);
  });

  it('runs the CLI that package.json installs, with node', () => {
    const [node, script, command] = execStart();
    assert.equal(node, '/usr/bin/node');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: { jwtgate: string } };
    assert.equal(script, `/opt/jwtgate/${pkg.bin.jwtgate}`);
    assert.equal(command, 'serve');
  });

  it('passes only flags serve accepts, with values its config check accepts, and the env example parses', () => {
    // `config` above was built from them; this states what the front proxies rely on.
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 8080);
    assert.equal(config.publicUrl?.href, `https://${PUBLIC_HOST}/`);
    assert.equal(config.trustProxy.kind, 'cidrs');
    assert.ok(config.trustProxy.kind === 'cidrs' && config.trustProxy.list.check('127.0.0.1', 'ipv4'), 'the front proxy on 127.0.0.1 must be trusted');
    assert.equal(config.keyEncryptionKey, null);
    assert.equal(config.adminPassword, null);
    // The real CLI agrees (commander parses them; --help exits before listening).
    const help = execFileSync(process.execPath, [CLI, 'serve', ...serveArgs(), '--help'], { encoding: 'utf8' });
    for (const flag of serveArgs().filter((a) => a.startsWith('--'))) assert.ok(help.includes(`${flag} `), `serve --help does not list ${flag}`);
  });

  it('keeps the store in its StateDirectory, owner-only', () => {
    assert.equal(config.dataDir, `/var/lib/${unitValue(unit, 'StateDirectory')}`);
    assert.equal(unitValue(unit, 'StateDirectoryMode'), '0700');
    assert.equal(unitValue(unit, 'UMask'), '0077');
    assert.equal(path.dirname(config.auditLogFile), config.dataDir);
  });

  it('gives SIGTERM draining time to finish, and does not restart on bad configuration', () => {
    assert.equal(unitValue(unit, 'KillSignal'), 'SIGTERM');
    assert.ok(seconds(unitValue(unit, 'TimeoutStopSec'), 'TimeoutStopSec') >= config.drainTimeoutMs / 1000 + 5, 'TimeoutStopSec must exceed --drain-timeout by a margin');
    assert.equal(unitValue(unit, 'RestartPreventExitStatus'), String(new ConfigError(['x']).exitCode));
  });
});

describe('deploy/nginx/jwtgate.conf and deploy/Caddyfile', () => {
  const gateway = `${config.host}:${config.port}`;
  const upstreamTimeout = config.upstreamTimeoutMs / 1000;
  const keepAlive = config.keepAliveTimeoutMs / 1000;

  it('forward to the address the unit listens on, for the host of its --public-url', () => {
    assert.equal(directive(nginx, /upstream jwtgate \{\s*server (\S+);/, 'nginx upstream server'), gateway);
    assert.equal(directive(caddy, /reverse_proxy (\S+) \{/, 'Caddy reverse_proxy'), gateway);
    for (const name of nginx.matchAll(/server_name (\S+);/g)) assert.equal(name[1], config.publicUrl!.hostname);
    assert.equal(directive(caddy, /^(\S+) \{$/m, 'Caddy site address'), config.publicUrl!.hostname);
  });

  it('wait longer than --upstream-timeout, so the gateway answers a slow upstream itself', () => {
    assert.ok(seconds(directive(nginx, /proxy_read_timeout (\S+);/, 'proxy_read_timeout'), 'proxy_read_timeout') > upstreamTimeout);
    assert.ok(seconds(directive(nginx, /proxy_send_timeout (\S+);/, 'proxy_send_timeout'), 'proxy_send_timeout') > upstreamTimeout);
    assert.ok(seconds(directive(caddy, /response_header_timeout (\S+)/, 'response_header_timeout'), 'response_header_timeout') > upstreamTimeout);
  });

  it('close idle connections to the gateway before its --keep-alive-timeout does', () => {
    assert.ok(seconds(directive(nginx, /keepalive_timeout (\S+);/, 'upstream keepalive_timeout'), 'keepalive_timeout') < keepAlive);
    assert.ok(seconds(directive(caddy, /keepalive (\S+)/, 'Caddy keepalive'), 'keepalive') < keepAlive);
  });

  it('leave the body limit to the gateway (--max-body-size)', () => {
    assert.equal(config.maxBodyBytes, 0);
    assert.equal(directive(nginx, /client_max_body_size (\S+);/, 'client_max_body_size'), '0');
    assert.doesNotMatch(caddy, /max_size|request_body/);
  });
});
