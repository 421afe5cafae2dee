/**
 * Which peers may assert who the user is: those of --trust-proxy, which must then name the load
 * balancer's or proxy's addresses. parseAssertionOptions calls `checkAssertingPeers` when an
 * assertion source is on; problems stop the start, warnings are logged loudly at start.
 */
import { rangeBreadth } from '../../ip-address.js';
import type { TrustProxy } from '../../proxy/trust-proxy.js';

/** IPv4 ranges shorter than this (more than 16.7 million addresses), and IPv6 ranges shorter than /32 (an ISP's allocation), are warned about. */
const BROAD_IPV4_PREFIX = 8;
const BROAD_IPV6_PREFIX = 32;

/**
 * Every peer in --trust-proxy can assert any user. A range that holds every address of a family
 * (`0.0.0.0/0`, `127.0.0.1/0`, `::/0`, or any IPv6 range that holds ::ffff:0:0/96, which IPv4
 * peers are matched against) trusts every peer, as a hop count would: refused. A very broad one
 * is most likely a mistake: warned about.
 */
function checkBreadth(trust: Extract<TrustProxy, { kind: 'cidrs' }>, problems: string[], warnings: string[]): void {
  for (const range of trust.ranges) {
    const { ipv4, ipv6 } = rangeBreadth(range.family, range.address, range.prefix);
    if (ipv4 === 0 || ipv6 === 0) {
      const whom = ipv6 === 0 ? 'every peer' : range.family === 4 ? 'every IPv4 peer' : 'every IPv4 peer (IPv4 peers are matched against IPv6 ranges as ::ffff:a.b.c.d)';
      problems.push(`--trust-proxy ${range.text} trusts ${whom}, and identity assertions are believed from every trusted peer: give the addresses or subnets of the load balancer or proxy`);
    } else if ((ipv4 !== null && ipv4 < BROAD_IPV4_PREFIX) || (ipv6 !== null && ipv6 < BROAD_IPV6_PREFIX)) {
      const than = ipv4 !== null ? `an IPv4 /${BROAD_IPV4_PREFIX}` : `an IPv6 /${BROAD_IPV6_PREFIX}`;
      warnings.push(`--trust-proxy ${range.text} is a very broad range (more than ${than}): every peer in it can assert any user; keep it to the load balancer's subnets`);
    }
  }
}

export function checkAssertingPeers(trust: TrustProxy, problems: string[], warnings: string[]): void {
  if (trust.kind === 'none') {
    problems.push('identity assertions are believed only from trusted peers: set --trust-proxy to the addresses of the load balancer or proxy');
  } else if (trust.kind === 'hops') {
    // A hop count trusts whichever peer connects: anyone who reaches the gateway directly could send the header.
    problems.push('identity assertions need --trust-proxy as the addresses or CIDRs of the load balancer or proxy, not a hop count (which trusts every peer)');
  } else {
    checkBreadth(trust, problems, warnings);
  }
}
