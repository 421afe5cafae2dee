/**
 * The shipped deployment files (deploy/), read as they are: tests template them only for ports,
 * certificate paths and temporary folders, and every substitution must match, so a changed
 * file fails the test instead of being silently tested in an older shape.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './paths.js';

export const DEPLOY = path.join(ROOT, 'deploy');
export const NGINX_SITE = path.join(DEPLOY, 'nginx/jwtgate.conf');
export const CADDYFILE = path.join(DEPLOY, 'Caddyfile');
export const UNIT = path.join(DEPLOY, 'jwtgate.service');
export const ENV_EXAMPLE = path.join(DEPLOY, 'jwtgate.env.example');

/** The host name every shipped file uses for the public URL. */
export const PUBLIC_HOST = 'jwtgate.example.com';

/** `text` with each `from` replaced by `to`; throws unless `from` occurs exactly `count` times (default: at least once). */
export function template(text: string, replacements: readonly (readonly [from: string, to: string, count?: number])[]): string {
  let out = text;
  for (const [from, to, count] of replacements) {
    const found = out.split(from).length - 1;
    if (found === 0 || (count !== undefined && found !== count)) throw new Error(`template: expected ${count ?? 'at least 1'} × ${JSON.stringify(from)}, found ${found}: the shipped file changed, update the test`);
    out = out.split(from).join(to);
  }
  return out;
}

/** `[Section] Key=value` pairs of a systemd unit, in order (a key may repeat). */
export function unitEntries(text: string): { section: string; key: string; value: string }[] {
  const entries: { section: string; key: string; value: string }[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(trimmed);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = trimmed.indexOf('=');
    entries.push({ section, key: trimmed.slice(0, eq), value: trimmed.slice(eq + 1) });
  }
  return entries;
}

export function unitValue(text: string, key: string): string {
  const values = unitEntries(text).filter((e) => e.key === key);
  if (values.length !== 1) throw new Error(`${UNIT}: expected one ${key}=, found ${values.length}`);
  return values[0]!.value;
}

/** The unit's ExecStart split into words (it uses no quoting, and the test keeps it that way). */
export function execStart(): string[] {
  const line = unitValue(fs.readFileSync(UNIT, 'utf8'), 'ExecStart');
  if (/["'\\$%]/.test(line)) throw new Error(`ExecStart uses quoting, variables or specifiers; this parser does not: ${line}`);
  return line.split(/\s+/);
}

/** The words after `serve` in ExecStart, with the flags in `overrides` given other values (each must be there). */
export function serveArgs(overrides: Readonly<Record<string, string>> = {}): string[] {
  const words = execStart();
  const serve = words.indexOf('serve');
  if (serve < 0) throw new Error('ExecStart does not run `serve`');
  const args = words.slice(serve + 1);
  for (const [flag, value] of Object.entries(overrides)) {
    const at = args.indexOf(flag);
    if (at < 0) throw new Error(`ExecStart has no ${flag}`);
    args[at + 1] = value;
  }
  return args;
}

/** The value of `flag` in ExecStart, or undefined. */
export function serveFlag(flag: string): string | undefined {
  const args = serveArgs();
  const at = args.indexOf(flag);
  return at < 0 ? undefined : args[at + 1];
}

/** A self-signed certificate for PUBLIC_HOST, made with the openssl CLI. */
export function selfSignedCertificate(dir: string): { cert: string; key: string; pem: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${PUBLIC_HOST}`, '-addext', `subjectAltName=DNS:${PUBLIC_HOST}`, '-keyout', key, '-out', cert], { stdio: 'pipe' });
  return { cert, key, pem: fs.readFileSync(cert, 'utf8') };
}

/**
 * undefined when `file` exists; otherwise a skip message, or, in CI (`CI` set, as .ci/run does),
 * an error: CI installs every binary, so a missing one there is a broken CI, not a skip.
 */
export function missingBinary(file: string, aptPackage: string): string | undefined {
  if (fs.existsSync(file)) return undefined;
  if (process.env['CI']) throw new Error(`${file} is missing in CI: .ci/run must apt-get install ${aptPackage}`);
  return `SKIPPED: no ${file} (Debian: apt-get install ${aptPackage}; .ci/run installs it)`;
}
