/**
 * Which peers may assert who the user is: those of --trust-proxy, which must then name the load
 * balancer's or proxy's addresses. parseAssertionOptions calls `checkAssertingPeers` when an
 * assertion source is on; problems stop the start, warnings are logged loudly at start.
 */
import { IPV4_ADDRESSES, IPV6_ONLY_ADDRESSES, addressesIn, rangeSpans, type AddressSpan } from '../../ip-address.js';
import type { TrustedRange, TrustProxy } from '../../proxy/trust-proxy.js';

/** More IPv4 addresses than a /8 holds (16.7 million), or more IPv6 addresses than a /32 (an ISP's allocation), are warned about. */
const BROAD_IPV4_PREFIX = 8;
const BROAD_IPV6_PREFIX = 32;
const BROAD_IPV4_ADDRESSES = 1n << BigInt(32 - BROAD_IPV4_PREFIX);
const BROAD_IPV6_ADDRESSES = 1n << BigInt(128 - BROAD_IPV6_PREFIX);
/** Ranges named in a message about several; the rest are counted. */
const NAMED_RANGES = 4;

const REFUSAL = 'and identity assertions are believed from every trusted peer: give the addresses or subnets of the load balancer or proxy';
const WARNING = "can assert any user; keep it to the load balancer's subnets";

interface FamilyShare {
  readonly range: TrustedRange;
  readonly spans: readonly AddressSpan[];
  readonly count: bigint;
}

/** `a, b, c, d and 3 more`, broadest first. */
function rangeList(shares: readonly FamilyShare[]): string {
  const sorted = [...shares].sort((a, b) => (a.count > b.count ? -1 : a.count < b.count ? 1 : 0));
  const named = sorted.slice(0, NAMED_RANGES).map((share) => share.range.text).join(', ');
  return sorted.length > NAMED_RANGES ? `${named} and ${sorted.length - NAMED_RANGES} more` : named;
}

const MATCHED_AS_MAPPED = ' (IPv4 peers are matched against IPv6 ranges as ::ffff:a.b.c.d)';

/**
 * One family's part of the list, judged as a whole: peers are trusted when any range holds them,
 * so `0.0.0.0/1,128.0.0.0/1` or 256 × `N.0.0.0/8` trust every IPv4 peer as `0.0.0.0/0` does.
 * A single range that holds the whole family has been refused on its own (checkBreadth).
 */
function checkFamily(family: 'IPv4' | 'IPv6', shares: readonly FamilyShare[], problems: string[], warnings: string[]): void {
  const all = family === 'IPv4' ? IPV4_ADDRESSES : IPV6_ONLY_ADDRESSES;
  if (shares.length === 0 || shares.some((share) => share.count === all)) return;
  const total = addressesIn(shares.flatMap((share) => share.spans));
  if (total === all) {
    const viaIpv6 = family === 'IPv4' && shares.some((share) => share.range.family === 6) ? MATCHED_AS_MAPPED : '';
    problems.push(`--trust-proxy ${rangeList(shares)} together trust every ${family} peer${viaIpv6}, ${REFUSAL}`);
  } else if (total > (family === 'IPv4' ? BROAD_IPV4_ADDRESSES : BROAD_IPV6_ADDRESSES)) {
    const than = family === 'IPv4' ? `an IPv4 /${BROAD_IPV4_PREFIX}` : `an IPv6 /${BROAD_IPV6_PREFIX}`;
    warnings.push(
      shares.length === 1
        ? `--trust-proxy ${shares[0]!.range.text} is a very broad range (more than ${than}): every peer in it ${WARNING}`
        : `--trust-proxy ${rangeList(shares)} together are a very broad range (more ${family} addresses than ${than}): every peer in them ${WARNING}`,
    );
  }
}

/**
 * Every peer in --trust-proxy can assert any user. Ranges that hold every address of a family,
 * alone (`0.0.0.0/0`, `127.0.0.1/0`, `::/0`, or any IPv6 range that holds ::ffff:0:0/96, which IPv4
 * peers are matched against) or together (`0.0.0.0/1,128.0.0.0/1`), trust every peer, as a hop
 * count would: refused. A very broad list is most likely a mistake: warned about.
 */
function checkBreadth(trust: Extract<TrustProxy, { kind: 'cidrs' }>, problems: string[], warnings: string[]): void {
  const ipv4: FamilyShare[] = [];
  const ipv6: FamilyShare[] = [];
  for (const range of trust.ranges) {
    const spans = rangeSpans(range.family, range.address, range.prefix);
    const v4 = spans.ipv4 === null ? null : { range, spans: [spans.ipv4], count: addressesIn([spans.ipv4]) };
    const v6 = spans.ipv6.length === 0 ? null : { range, spans: spans.ipv6, count: addressesIn(spans.ipv6) };
    if (v4 !== null) ipv4.push(v4);
    if (v6 !== null) ipv6.push(v6);
    // Only ::/0 holds all of IPv6 outside ::ffff:0:0/96, and it holds all of IPv4 too.
    if (v6?.count === IPV6_ONLY_ADDRESSES) problems.push(`--trust-proxy ${range.text} trusts every peer, ${REFUSAL}`);
    else if (v4?.count === IPV4_ADDRESSES) problems.push(`--trust-proxy ${range.text} trusts every IPv4 peer${range.family === 6 ? MATCHED_AS_MAPPED : ''}, ${REFUSAL}`);
  }
  checkFamily('IPv4', ipv4, problems, warnings);
  checkFamily('IPv6', ipv6, problems, warnings);
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
