/**
 * A target that is the gateway itself would loop forever: refused when set through the admin
 * API (by port and by address: every spelling of loopback, "this host" and the host's own
 * interface addresses, and whatever a host name resolves to), and caught at run time by the Via
 * header (508, on every route) for anything that hides it (a DNS change, a target set through
 * the CLI, another gateway of the same deployment).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import { canonicalAddress, isLoopbackAddress, isUnspecifiedAddress } from '../ip-address.js';
import type { TargetUrl } from './target-url.js';

export interface SelfAddress {
  port: number;
  /** The --host the gateway listens on (an address, a name, or an unspecified address: all of this host's). */
  host: string;
  /** Other names it is known by (the Host header of the admin request). */
  names: readonly string[];
}

/** How long the admin API waits for DNS when it checks a target host name, ms. */
const LOOKUP_TIMEOUT_MS = 2000;

function localAddresses(): Set<string> {
  const addresses = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) for (const nic of list ?? []) addresses.add(canonicalAddress(nic.address));
  return addresses;
}

/** The addresses a host name resolves to; none when it does not resolve in time (the Via check still applies). */
async function resolve(host: string): Promise<string[]> {
  if (host === 'localhost' || host.endsWith('.localhost')) return ['127.0.0.1', '::1'];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never[]>((done) => {
    timer = setTimeout(() => done([]), LOOKUP_TIMEOUT_MS);
  });
  try {
    const found = lookup(host, { all: true, verbatim: true }).then((list) => list.map((entry) => entry.address), () => []);
    return await Promise.race([found, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const bare = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

/**
 * The addresses at which this gateway answers: all of this host's (loopback, interfaces) when
 * it listens on an unspecified address or a name; else the one address it is bound to. "This
 * host" (0.0.0.0, ::) reaches it either way.
 */
async function ownAddresses(listenHost: string): Promise<(address: string) => boolean> {
  const host = bare(listenHost);
  const bound = isIP(host) ? [host] : await resolve(host);
  if (bound.length === 0 || bound.some(isUnspecifiedAddress)) {
    const local = localAddresses();
    return (address) => isLoopbackAddress(address) || isUnspecifiedAddress(address) || local.has(canonicalAddress(address));
  }
  const own = new Set(bound.map(canonicalAddress));
  return (address) => isUnspecifiedAddress(address) || own.has(canonicalAddress(address));
}

export async function isSelfTarget(target: TargetUrl, self: SelfAddress): Promise<boolean> {
  // The WHATWG parser already spells IPv4 in dotted form (127.1, 2130706433, 0x7f.1 → 127.0.0.1).
  const url = new URL(target.origin);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  if (port !== self.port) return false;
  const host = bare(url.hostname);
  if (host === os.hostname().toLowerCase() || [self.host, ...self.names].some((name) => bare(name) === host)) return true;
  const isOwn = await ownAddresses(self.host);
  const addresses = isIP(host) ? [host] : await resolve(host);
  return addresses.some(isOwn);
}

/** The Via pseudonym of this deployment; a request already carrying it has looped. */
export function viaName(deploymentId: string): string {
  return `jwtgate-${deploymentId}`;
}

export function hasLooped(via: string | string[] | undefined, name: string): boolean {
  if (via === undefined) return false;
  const text = Array.isArray(via) ? via.join(',') : via;
  return text.split(',').some((hop) => hop.trim().split(/\s+/)[1] === name);
}
