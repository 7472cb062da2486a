/**
 * Which addresses an outgoing request of ours may reach (back-channel logout, a client's jwks_uri, …).
 * Rules:
 * - a special-use address (loopback, private, link-local, carrier-grade NAT, documentation, multicast,
 *   reserved, IPv4-mapped forms of those) is refused: a relying party's URL must not make us talk to our
 *   own network (SSRF);
 * - the operator may allow named internal hosts, addresses or CIDR ranges with ALLOW_PRIVATE_OUTBOUND_HOSTS,
 *   for their own relying parties on a private network; everything else stays guarded.
 * Pure: the caller resolves the host name and asks about each address.
 */
import net from 'node:net';

export interface OutboundAllowList {
  /** Host names (lower-case) whose resolved addresses are allowed whatever they are. */
  hosts: ReadonlySet<string>;
  /** Addresses and ranges that are allowed although special-use. */
  addresses: net.BlockList;
  /** The list as written, for logs. */
  entries: readonly string[];
  /** Exact origins (scheme, host, port) that are always allowed: our own issuer, whose built-in playground is a relying party. */
  origins: ReadonlySet<string>;
}

const SPECIAL_USE_V4 = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const;
const SPECIAL_USE_V6 = [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const;

const specialUse = new net.BlockList();
for (const [address, prefix] of SPECIAL_USE_V4) specialUse.addSubnet(address, prefix, 'ipv4');
for (const [address, prefix] of SPECIAL_USE_V6) specialUse.addSubnet(address, prefix, 'ipv6');

/** IPv4-mapped IPv6 (::ffff:10.0.0.1) is checked as the IPv4 address it carries. */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address, family: net.isIPv4(address) ? 'ipv4' : 'ipv6' };
}

export function isSpecialUseAddress(address: string): boolean {
  const a = unmapped(address);
  return specialUse.check(a.address, a.family);
}

/** Parses ALLOW_PRIVATE_OUTBOUND_HOSTS entries; returns the problems instead of throwing. */
export function parseOutboundAllowList(entries: readonly string[], ownOrigins: readonly string[] = []): { list: OutboundAllowList; problems: string[] } {
  const hosts = new Set<string>();
  const addresses = new net.BlockList();
  const problems: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    const [address, prefix, extra] = entry.split('/');
    const family = net.isIPv4(address!) ? 'ipv4' : net.isIPv6(address!) ? 'ipv6' : undefined;
    if (family && prefix === undefined) {
      addresses.addAddress(address!, family);
    } else if (family && extra === undefined && /^\d{1,3}$/.test(prefix!) && Number(prefix) <= (family === 'ipv4' ? 32 : 128)) {
      addresses.addSubnet(address!, Number(prefix), family);
    } else if (prefix === undefined && /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(entry)) {
      hosts.add(entry.toLowerCase());
    } else {
      problems.push(`"${entry}" is neither a host name, an IP address nor a CIDR range`);
    }
  }
  return { list: { hosts, addresses, entries: entries.map((e) => e.trim()).filter(Boolean), origins: new Set(ownOrigins) }, problems };
}

/** Is this URL on one of the always-allowed origins (our own issuer)? Only the exact origin: not other ports of the host. */
export function isOwnOrigin(list: OutboundAllowList, url: URL): boolean {
  return list.origins.has(url.origin);
}

export type OutboundDecision = { allowed: true } | { allowed: false; reason: string };

/** May a request for `host` connect to `address` (what the host name resolved to)? */
export function outboundDecision(list: OutboundAllowList, host: string, address: string): OutboundDecision {
  if (!isSpecialUseAddress(address)) return { allowed: true };
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  const a = unmapped(address);
  if (list.hosts.has(bare) || list.addresses.check(a.address, a.family)) return { allowed: true };
  return {
    allowed: false,
    reason: `${bare} resolves to the special-use address ${address}; add it to ALLOW_PRIVATE_OUTBOUND_HOSTS if it is your own relying party`,
  };
}
