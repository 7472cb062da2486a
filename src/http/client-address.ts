/**
 * Who is asking, and over what: the client address, https-ness and host of a request, believing
 * X-Forwarded-* only from trusted proxies. Pure functions, no I/O. Rules:
 * - TRUSTED_PROXIES lists addresses and CIDR ranges (IPv4 and IPv6) plus the shorthands `loopback` and
 *   `private`; nothing else is accepted;
 * - a header counts only when the socket peer is itself a trusted proxy; otherwise it is ignored;
 * - the client address is the rightmost X-Forwarded-For entry that is not a trusted proxy, walking from
 *   the socket peer leftwards (entries a client wrote itself lie to the left and are never reached);
 *   when every hop is trusted, the leftmost one is the client;
 * - X-Forwarded-Proto and X-Forwarded-Host must be one value each (the proxy next to us sets them, it
 *   does not append): a list, an unknown scheme, an invalid host, an overlong header or an entry that
 *   is not an address is a problem the caller answers with 400, and none of it is ever kept;
 * - addresses come out canonical: IPv4-mapped IPv6 as plain IPv4, IPv6 lower-case without zone or port.
 */
import net from 'node:net';

/** The shorthands TRUSTED_PROXIES accepts, and the ranges they stand for. */
export const PROXY_SHORTHANDS: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Longest X-Forwarded-For we read, and most hops: far beyond any real proxy chain. */
export const MAX_FORWARDED_FOR_LENGTH = 1024;
export const MAX_FORWARDED_HOPS = 16;
const MAX_HOST_LENGTH = 270;

export type ProxyTrust = (address: string) => boolean;

/**
 * A pure function of one string, remembered for the last few hundred inputs (issue 13: the URL parser and
 * node's BlockList cost 2 % of an API request, and a service sees the same few hosts and peers over and
 * over). Bounded: an attacker who sends ever new values only makes the map start again.
 */
function remembered<T>(fn: (raw: string) => T, size = 512): (raw: string) => T {
  const seen = new Map<string, T>();
  return (raw) => {
    if (seen.has(raw)) return seen.get(raw)!;
    const value = fn(raw);
    if (seen.size >= size) seen.clear();
    seen.set(raw, value);
    return value;
  };
}

/** Canonical form of one address (as a socket or a proxy reports it), or undefined when it is not one. */
export const normaliseAddress = remembered(canonicalAddress);

function canonicalAddress(raw: string): string | undefined {
  let value = raw.trim();
  if (value.length === 0 || value.length > 64) return undefined;
  // "[2001:db8::1]:443" or "[2001:db8::1]"; "192.0.2.1:443"
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed) value = bracketed[1]!;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/.test(value)) value = value.slice(0, value.lastIndexOf(':'));
  value = value.replace(/%[0-9A-Za-z._~-]+$/, '').toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(value);
  if (mapped) value = mapped[1]!;
  return net.isIP(value) === 0 ? undefined : value;
}

/** Parses TRUSTED_PROXIES (comma- or space-separated) into canonical entries, or names what is wrong. */
export function parseProxyList(spec: string): { entries: string[]; problems: string[] } {
  const entries: string[] = [];
  const problems: string[] = [];
  for (const item of spec.split(/[\s,]+/).filter(Boolean)) {
    const lower = item.toLowerCase();
    if (lower in PROXY_SHORTHANDS) {
      entries.push(lower);
      continue;
    }
    const [address = '', prefix, extra] = lower.split('/');
    const canonical = normaliseAddress(address);
    const family = canonical ? net.isIP(canonical) : 0;
    const bits = prefix === undefined ? (family === 4 ? 32 : 128) : /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
    if (!canonical || address.includes('[') || extra !== undefined || bits < 0 || bits > (family === 4 ? 32 : 128)) {
      problems.push(`"${item}" is not an IP address, a CIDR range, loopback or private`);
      continue;
    }
    entries.push(prefix === undefined ? canonical : `${canonical}/${bits}`);
  }
  return { entries, problems };
}

/** A membership test over parsed entries (node's BlockList, used as an allow list). */
export function createProxyTrust(entries: readonly string[]): ProxyTrust {
  const list = new net.BlockList();
  for (const entry of entries.flatMap((e) => PROXY_SHORTHANDS[e] ?? [e])) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const type = net.isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return remembered((address) => {
    const canonical = normaliseAddress(address);
    return canonical !== undefined && list.check(canonical, net.isIP(canonical) === 4 ? 'ipv4' : 'ipv6');
  });
}

export interface RequestFacts {
  /** The socket's remote address. */
  peer: string | undefined;
  /** Whether the socket itself is TLS. */
  encrypted: boolean;
  host: string | undefined;
  forwardedFor: string | undefined;
  forwardedProto: string | undefined;
  forwardedHost: string | undefined;
}

export interface Resolved {
  clientIp: string;
  /** https as seen directly or as reported by a trusted proxy. */
  secure: boolean;
  /** The validated host the request names (a trusted X-Forwarded-Host, else Host); undefined if none. */
  host: string | undefined;
}

export type Resolution = ({ ok: true } & Resolved) | { ok: false; problem: string };

/** A syntactically valid `host[:port]` (reg-name, IPv4 or bracketed IPv6), lower-cased, or undefined. */
export const normaliseHost = remembered(canonicalHost);

function canonicalHost(raw: string): string | undefined {
  const value = raw.trim();
  if (value.length === 0 || value.length > MAX_HOST_LENGTH) return undefined;
  if (!/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9.])?)(?::\d{1,5})?$/.test(value)) return undefined;
  try {
    return new URL(`http://${value}`).host;
  } catch {
    return undefined;
  }
}

export function resolveRequest(facts: RequestFacts, trusts: ProxyTrust): Resolution {
  const peer = (facts.peer && normaliseAddress(facts.peer)) ?? '';
  const hostHeader = facts.host === undefined ? undefined : normaliseHost(facts.host);
  if (facts.host !== undefined && hostHeader === undefined) return { ok: false, problem: 'the Host header is not a valid host' };
  if (!peer || !trusts(peer)) return { ok: true, clientIp: peer, secure: facts.encrypted, host: hostHeader };

  let clientIp = peer;
  if (facts.forwardedFor !== undefined) {
    if (facts.forwardedFor.length > MAX_FORWARDED_FOR_LENGTH) return { ok: false, problem: 'X-Forwarded-For is too long' };
    const hops = facts.forwardedFor.split(',');
    if (hops.length > MAX_FORWARDED_HOPS) return { ok: false, problem: 'X-Forwarded-For has too many entries' };
    for (let i = hops.length - 1; i >= 0; i -= 1) {
      const hop = normaliseAddress(hops[i]!);
      if (!hop) return { ok: false, problem: 'X-Forwarded-For holds an entry that is not an IP address' };
      clientIp = hop;
      if (!trusts(hop)) break;
    }
  }
  let secure = facts.encrypted;
  if (facts.forwardedProto !== undefined) {
    const proto = facts.forwardedProto.trim().toLowerCase();
    if (proto !== 'http' && proto !== 'https') return { ok: false, problem: 'X-Forwarded-Proto must be one value, http or https' };
    secure = secure || proto === 'https';
  }
  let host = hostHeader;
  if (facts.forwardedHost !== undefined) {
    host = normaliseHost(facts.forwardedHost);
    if (host === undefined) return { ok: false, problem: 'X-Forwarded-Host must be one valid host' };
  }
  return { ok: true, clientIp, secure, host };
}
