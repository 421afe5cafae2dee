/**
 * A target that is the gateway itself would loop forever: refused when set through the admin
 * API (by host and port), and caught at run time by the Via header (508) for anything a host
 * name hides (DNS aliases, a target set through the CLI).
 */
import os from 'node:os';
import type { TargetUrl } from './target-url.js';

export interface SelfAddress {
  port: number;
  /** Extra names the gateway is known by (its --host, the Host header of the admin request). */
  names: readonly string[];
}

function localNames(): Set<string> {
  const names = new Set(['localhost', '0.0.0.0', '::', '::1', os.hostname().toLowerCase()]);
  for (const list of Object.values(os.networkInterfaces())) for (const nic of list ?? []) names.add(nic.address.toLowerCase());
  return names;
}

export function isSelfTarget(target: TargetUrl, self: SelfAddress): boolean {
  const url = new URL(target.origin);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  if (port !== self.port) return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host.startsWith('127.') || host.endsWith('.localhost')) return true;
  const names = localNames();
  for (const name of self.names) names.add(name.replace(/^\[|\]$/g, '').toLowerCase());
  return names.has(host);
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
