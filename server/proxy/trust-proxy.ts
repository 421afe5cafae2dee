/**
 * Which peers may tell us who the client is. X-Forwarded-For/-Proto/-Host from the client are
 * ignored unless the TCP peer is a trusted proxy (--trust-proxy: CIDR list, or a hop count); by
 * default none is, so nobody can spoof the values the upstream receives.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

export type TrustProxy =
  | { readonly kind: 'none' }
  | { readonly kind: 'cidrs'; readonly list: BlockList; readonly text: string }
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
  for (const entry of text.split(',').map((e) => e.trim())) {
    const [address, prefixText] = entry.split('/');
    const family = isIP(address ?? '');
    if (family === 0) return `--trust-proxy: ${JSON.stringify(entry)} is not an IP address or CIDR`;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) {
      list.addAddress(address!, type);
      continue;
    }
    const prefix = Number(prefixText);
    if (!/^\d+$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) return `--trust-proxy: bad prefix length in ${JSON.stringify(entry)}`;
    list.addSubnet(address!, prefix, type);
  }
  return { kind: 'cidrs', list, text };
}

function isTrusted(trust: TrustProxy, address: string): boolean {
  if (trust.kind !== 'cidrs') return false;
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return trust.list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
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
  const chain = [...chainText.split(',').map((s) => s.trim()).filter((s) => isIP(s) !== 0), peer];
  let clientAddress = peer;
  if (trust.kind === 'hops') {
    clientAddress = chain[Math.max(0, chain.length - 1 - trust.hops)]!;
  } else {
    for (let i = chain.length - 1; i >= 0; i--) {
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
