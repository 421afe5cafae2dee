/**
 * Who counts as one client for the login throttle, the password-check queue and the tunnel
 * limits. An IPv4 address is one client (an IPv4-mapped IPv6 address is that IPv4 address). An
 * IPv6 client is its prefix (default /64): one host or site normally holds a whole /64, so
 * counting single addresses would give it 2^64 budgets.
 */
import { ipv4Of, ipv6Prefix } from '../ip-address.js';

/** The client key of an address: its IPv4 address, or its IPv6 prefix (`2001:db8:1:2:0:0:0:0/64`); anything else as it is. */
export function clientKeyOf(address: string, ipv6PrefixBits: number): string {
  return ipv4Of(address) ?? ipv6Prefix(address, ipv6PrefixBits) ?? address;
}

/**
 * The network a client belongs to, for fairness between networks: an IPv4 /24, an IPv6 /48 (or
 * the client's own prefix when that is shorter). One operator of a /48 gets 65536 /64s; grouping
 * them keeps them from outnumbering everybody else in the password queue.
 */
export function clientGroupOf(address: string, ipv6PrefixBits: number): string {
  const v4 = ipv4Of(address);
  if (v4 !== null) return `${v4.split('.').slice(0, 3).join('.')}.0/24`;
  return ipv6Prefix(address, Math.min(48, ipv6PrefixBits)) ?? address;
}
