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

/** An inclusive range of addresses as integers (IPv4 in 32 bits, IPv6 in 128). */
export interface AddressSpan {
  readonly first: bigint;
  readonly last: bigint;
}

/** ::ffff:0:0/96, where node's BlockList matches IPv4 addresses against IPv6 rules (as ::ffff:a.b.c.d) and IPv4-mapped peers against IPv4 rules. */
const MAPPED_FIRST = 0xffffn << 32n;
const MAPPED_LAST = MAPPED_FIRST + (1n << 32n) - 1n;
export const IPV4_ADDRESSES = 1n << 32n;
/** The IPv6 addresses outside ::ffff:0:0/96 (the rest are IPv4 addresses). */
export const IPV6_ONLY_ADDRESSES = (1n << 128n) - IPV4_ADDRESSES;

function addressBits(family: 4 | 6, address: string): bigint | null {
  if (family === 4) {
    const bytes = address.split('.').map(Number);
    return bytes.length === 4 && bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255) ? bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n) : null;
  }
  const groups = ipv6Groups(address);
  return groups ? groups.reduce((n, g) => (n << 16n) | BigInt(g), 0n) : null;
}

/**
 * What a CIDR range holds, split the way peers are matched: `ipv4`, the IPv4 addresses (an IPv6
 * range counts for what it holds of ::ffff:0:0/96, so `::/80` holds every IPv4 address), and
 * `ipv6`, the other IPv6 addresses (up to two spans, around ::ffff:0:0/96). Only that block is
 * IPv4: ::/96, 64:ff9b::/96 and 2002::/16 do not match IPv4 peers.
 */
export function rangeSpans(family: 4 | 6, address: string, prefix: number): { ipv4: AddressSpan | null; ipv6: AddressSpan[] } {
  const width = family === 4 ? 32n : 128n;
  const bits = addressBits(family, address);
  if (bits === null) return { ipv4: null, ipv6: [] };
  const size = 1n << (width - BigInt(prefix));
  const first = (bits / size) * size;
  const last = first + size - 1n;
  if (family === 4) return { ipv4: { first, last }, ipv6: [] };
  const ipv6: AddressSpan[] = [];
  if (first < MAPPED_FIRST) ipv6.push({ first, last: last < MAPPED_FIRST ? last : MAPPED_FIRST - 1n });
  if (last > MAPPED_LAST) ipv6.push({ first: first > MAPPED_LAST ? first : MAPPED_LAST + 1n, last });
  const mapped = first <= MAPPED_LAST && last >= MAPPED_FIRST;
  const ipv4 = mapped ? { first: (first > MAPPED_FIRST ? first : MAPPED_FIRST) - MAPPED_FIRST, last: (last < MAPPED_LAST ? last : MAPPED_LAST) - MAPPED_FIRST } : null;
  return { ipv4, ipv6 };
}

/** How many addresses the spans hold together (overlaps counted once). */
export function addressesIn(spans: readonly AddressSpan[]): bigint {
  const sorted = [...spans].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  let total = 0n;
  let next = -1n; // the first address not yet counted
  for (const { first, last } of sorted) {
    const from = first > next ? first : next;
    if (last >= from) total += last - from + 1n;
    if (last + 1n > next) next = last + 1n;
  }
  return total;
}
