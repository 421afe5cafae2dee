/**
 * IP address facts shared by the throttle (client keys), config (loopback hosts) and the
 * self-target check: one parser, so that every spelling of an address means the same thing
 * everywhere (`::ffff:127.0.0.1` is 127.0.0.1, `2001:0db8::1` is `2001:db8::1`).
 */
import { isIP } from 'node:net';

/** The 8 groups of an IPv6 address (a zone such as `%eth0` ignored), or null when it is not one. */
export function ipv6Groups(address: string): number[] | null {
  let text = address.split('%')[0]!;
  if (isIP(text) !== 6) return null;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const bytes = v4[1]!.split('.').map(Number);
    text = `${text.slice(0, v4.index)}${((bytes[0]! << 8) | bytes[1]!).toString(16)}:${((bytes[2]! << 8) | bytes[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  const groups = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * The IPv4 address of `address`: itself, or the one inside an IPv4-mapped (`::ffff:a.b.c.d`) or
 * IPv4-compatible (`::a.b.c.d`) IPv6 address; null otherwise.
 */
export function ipv4Of(address: string): string | null {
  if (isIP(address) === 4) return address;
  const groups = ipv6Groups(address);
  if (!groups || !groups.slice(0, 5).every((g) => g === 0) || (groups[5] !== 0xffff && groups[5] !== 0)) return null;
  if (groups[5] === 0 && groups[6] === 0) return null; // ::, ::1 are IPv6 themselves
  return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.');
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped spellings. */
export function isLoopbackAddress(address: string): boolean {
  const v4 = ipv4Of(address);
  if (v4 !== null) return v4.startsWith('127.');
  const groups = ipv6Groups(address);
  return groups !== null && groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1;
}

/** 0.0.0.0 and :: (and mapped): "this host" when connected to. */
export function isUnspecifiedAddress(address: string): boolean {
  const v4 = ipv4Of(address);
  if (v4 !== null) return v4 === '0.0.0.0';
  const groups = ipv6Groups(address);
  return groups !== null && groups.every((g) => g === 0);
}

/**
 * One spelling per address: IPv4 dotted (also for mapped IPv6), IPv6 as 8 lower-case hex
 * groups. Anything that is not an address is returned lower-cased.
 */
export function canonicalAddress(address: string): string {
  const v4 = ipv4Of(address);
  if (v4 !== null) return v4;
  const groups = ipv6Groups(address);
  return groups ? groups.map((g) => g.toString(16)).join(':') : address.toLowerCase();
}

/** The IPv6 prefix of `bits` of an IPv6 address, as `g:g:g:g:0:0:0:0/bits`; null for anything else. */
export function ipv6Prefix(address: string, bits: number): string | null {
  const groups = ipv6Groups(address);
  if (!groups) return null;
  const masked = groups.map((g, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
  });
  return `${masked.map((g) => g.toString(16)).join(':')}/${bits}`;
}

/** ::ffff:0:0/96, where node's BlockList matches IPv4 addresses against IPv6 rules (as ::ffff:a.b.c.d). */
const IPV4_MAPPED = [0, 0, 0, 0, 0, 0xffff];

/**
 * How much a CIDR range covers, as the prefix length of the space it holds: `ipv4` of the IPv4
 * addresses (an IPv6 range counts for what it holds of ::ffff:0:0/96, so `::/0` and `::/80` hold
 * every IPv4 address), `ipv6` of the other IPv6 addresses; null for none. 0 means all of them.
 */
export function rangeBreadth(family: 4 | 6, address: string, prefix: number): { ipv4: number | null; ipv6: number | null } {
  if (family === 4) return { ipv4: prefix, ipv6: null };
  const groups = ipv6Groups(address);
  if (!groups) return { ipv4: null, ipv6: prefix };
  const inMapped = IPV4_MAPPED.every((mapped, i) => {
    const keep = Math.max(0, Math.min(16, prefix - i * 16));
    const mask = (0xffff << (16 - keep)) & 0xffff;
    return (groups[i]! & mask) === (mapped & mask);
  });
  if (!inMapped) return { ipv4: null, ipv6: prefix };
  return prefix <= 96 ? { ipv4: 0, ipv6: prefix } : { ipv4: prefix - 96, ipv6: null };
}
