/**
 * Which peers may tell us who the client is. X-Forwarded-For/-Proto/-Host from the client are
 * ignored unless the TCP peer is a trusted proxy (--trust-proxy: CIDR list, or a hop count); by
 * default none is, so nobody can spoof the values the upstream receives.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** One entry of a CIDR list: an address alone is a range of one (/32, /128). */
export interface TrustedRange {
  /** As given. */
  readonly text: string;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
}

export type TrustProxy =
  | { readonly kind: 'none' }
  | { readonly kind: 'cidrs'; readonly list: BlockList; readonly text: string; readonly ranges: readonly TrustedRange[]; readonly verdicts: Map<string, boolean> }
  | { readonly kind: 'hops'; readonly hops: number };

export const TRUST_NONE: TrustProxy = Object.freeze({ kind: 'none' });

/** Parses `false`/`` (none), a hop count (`1`), or comma-separated CIDRs/IPs (`127.0.0.1/8, ::1`). Returns an error message on bad input. */
export function parseTrustProxy(raw: string): TrustProxy | string {
  const text = raw.trim();
  if (text === '' || text === 'false' || text === 'none' || text === '0') return TRUST_NONE;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return hops > 0 && hops <= 32 ? { kind: 'hops', hops } : '--trust-proxy hop count must be 1 to 32';
  }
  const list = new BlockList();
  const ranges: TrustedRange[] = [];
  for (const entry of text.split(',').map((e) => e.trim())) {
    const parts = entry.split('/');
    if (parts.length > 2) return `--trust-proxy: ${JSON.stringify(entry)} is not an IP address or CIDR`;
    const [address, prefixText] = parts;
    const family = isIP(address ?? '');
    if (family !== 4 && family !== 6) return `--trust-proxy: ${JSON.stringify(entry)} is not an IP address or CIDR`;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const bits = family === 4 ? 32 : 128;
    if (prefixText === undefined) {
      list.addAddress(address!, type);
      ranges.push(Object.freeze({ text: entry, family, address: address!, prefix: bits }));
      continue;
    }
    const prefix = Number(prefixText);
    if (!/^\d+$/.test(prefixText) || prefix > bits) return `--trust-proxy: bad prefix length in ${JSON.stringify(entry)}`;
    list.addSubnet(address!, prefix, type);
    ranges.push(Object.freeze({ text: entry, family, address: address!, prefix }));
  }
  return { kind: 'cidrs', list, text, ranges: Object.freeze(ranges), verdicts: new Map() };
}

/** True when the request's TCP peer may tell us who the client is (and, later, who the user is). */
export function isTrustedPeer(req: IncomingMessage, trust: TrustProxy): boolean {
  return trust.kind === 'hops' || isTrusted(trust, req.socket.remoteAddress ?? '');
}

/**
 * Answers are kept per address (bounded: cleared when full): BlockList.check costs about 2 µs a
 * call, and every request asks for its peer (a handful of load-balancer addresses) and, behind a
 * proxy, for the client address it forwarded.
 */
const MAX_VERDICTS = 10_000;

function isTrusted(trust: TrustProxy, address: string): boolean {
  if (trust.kind !== 'cidrs') return false;
  const known = trust.verdicts.get(address);
  if (known !== undefined) return known;
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const trusted = trust.list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
  if (trust.verdicts.size >= MAX_VERDICTS) trust.verdicts.clear();
  trust.verdicts.set(address, trusted);
  return trusted;
}

/** `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`, `[::1]:80` → the address; anything else → null. */
function plainAddress(entry: string): string | null {
  if (isIP(entry) !== 0) return entry;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  if (bracketed && isIP(bracketed[1]!) === 6) return bracketed[1]!;
  const withPort = /^([\d.]+):\d+$/.exec(entry);
  if (withPort && isIP(withPort[1]!) === 4) return withPort[1]!;
  return null;
}

function first(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.split(',')[0]?.trim() || undefined;
}

const HOST_VALUE = /^[A-Za-z0-9.\-_~!$&'()*+;=%:[\]]{1,255}$/;

export interface Forwarded {
  /** X-Forwarded-Proto to send: http or https. */
  proto: string;
  /** X-Forwarded-Host to send: host[:port] at which the client reached us (or our trusted front proxy). */
  host: string;
  /** X-Forwarded-For to send. */
  forwardedFor: string;
  /** The client's address, as far as we can trust it (used for throttling and logs). */
  clientAddress: string;
}

function ownHost(req: IncomingMessage): string {
  const host = req.headers.host;
  if (host) return host;
  const { localAddress, localPort } = req.socket;
  return localAddress?.includes(':') ? `[${localAddress}]:${localPort}` : `${localAddress}:${localPort}`;
}

/**
 * `publicUrl`, when configured, fixes X-Forwarded-Proto/-Host: a client cannot then make an
 * upstream call back (with the client's token) to a host of the client's choosing via `Host`.
 */
export function forwardedOf(req: IncomingMessage, trust: TrustProxy, publicUrl: URL | null = null): Forwarded {
  const peer = req.socket.remoteAddress ?? '';
  const ownProto = publicUrl ? publicUrl.protocol.slice(0, -1) : 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  const peerTrusted = trust.kind === 'hops' || isTrusted(trust, peer);
  const host = publicUrl ? publicUrl.host : ownHost(req);
  if (!peerTrusted) return { proto: ownProto, host, forwardedFor: peer, clientAddress: peer };

  const incomingFor = req.headers['x-forwarded-for'];
  const chainText = Array.isArray(incomingFor) ? incomingFor.join(',') : (incomingFor ?? '');
  // Read from the right (nearest hop first) and stop at the first entry that is not an address
  // (after removing a port or brackets): what stands left of garbage is not to be believed.
  const entries = chainText === '' ? [] : chainText.split(',');
  const chain = [peer];
  for (let i = entries.length - 1; i >= 0; i--) {
    const address = plainAddress(entries[i]!.trim());
    if (address === null) break;
    chain.unshift(address);
  }
  let clientAddress = peer;
  if (trust.kind === 'hops') {
    clientAddress = chain[Math.max(0, chain.length - 1 - trust.hops)]!;
  } else {
    // The peer (last in the chain) is trusted: the client is the right-most untrusted address before it.
    for (let i = chain.length - 2; i >= 0; i--) {
      clientAddress = chain[i]!;
      if (!isTrusted(trust, clientAddress)) break;
    }
  }
  const proto = first(req.headers['x-forwarded-proto'])?.toLowerCase();
  const forwardedHost = first(req.headers['x-forwarded-host']);
  if (publicUrl) return { proto: ownProto, host, forwardedFor: chain.join(', '), clientAddress };
  return {
    proto: proto === 'http' || proto === 'https' ? proto : ownProto,
    host: forwardedHost !== undefined && HOST_VALUE.test(forwardedHost) ? forwardedHost : host,
    forwardedFor: chain.join(', '),
    clientAddress,
  };
}
