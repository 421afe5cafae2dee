/**
 * A request as the identity sources see it: its headers and URL, and the client's address and
 * whether the TCP peer is a trusted proxy, worked out only if a source asks (the fast path of a
 * cached check never does).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export interface IdentityRequest {
  readonly headers: IncomingHttpHeaders;
  readonly url: string;
  readonly method: string;
  /** The client's address as far as it can be trusted (--trust-proxy aware). */
  clientAddress(): string;
  /** True when the TCP peer is a trusted proxy: only then are load-balancer assertions believed. */
  peerTrusted(): boolean;
}

export interface RequestTrust {
  clientAddressOf(req: IncomingMessage): string;
  isTrustedPeer(req: IncomingMessage): boolean;
}

export function identityRequestOf(req: IncomingMessage, trust: RequestTrust): IdentityRequest {
  let address: string | undefined;
  let trusted: boolean | undefined;
  return {
    headers: req.headers,
    // Express strips a router's mount path from req.url; the identity sources match the full path (--auth-exempt).
    url: (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '',
    method: req.method ?? 'GET',
    clientAddress: () => (address ??= trust.clientAddressOf(req)),
    peerTrusted: () => (trusted ??= trust.isTrustedPeer(req)),
  };
}
