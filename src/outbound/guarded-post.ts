/**
 * POSTs a form to a relying party's URL with the SSRF guard of policies/outbound-hosts.ts applied to the
 * address actually connected to: the check runs inside the connection's DNS lookup, so a name that
 * resolves to a private address at connect time is refused even if it resolved elsewhere before.
 * Rules: a bounded timeout; redirects are not followed; the answer's body is not read beyond a little.
 * Errors carry the real cause ("… resolves to the special-use address 127.0.0.1", "connect ECONNREFUSED",
 * "HTTP 500"), never the body that was sent.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { isOwnOrigin, outboundDecision, type OutboundAllowList } from '../policies/outbound-hosts.js';

export class OutboundRefused extends Error {
  override name = 'OutboundRefused';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

function guardedLookup(list: OutboundAllowList) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const { address } of addresses) {
        const decision = outboundDecision(list, hostname, address);
        if (!decision.allowed) return callback(new OutboundRefused(decision.reason), []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} did not resolve`), { code: 'ENOTFOUND' }), []);
      return callback(null, first.address, first.family);
    });
  };
}

export interface PostResult {
  status: number;
}

export function guardedPostForm(list: OutboundAllowList, url: string, form: URLSearchParams, timeoutMs: number): Promise<PostResult> {
  const target = new URL(url);
  const literal = target.hostname.replace(/^\[|\]$/g, '');
  const own = isOwnOrigin(list, target);
  if (!own && net.isIP(literal)) {
    // Node connects to a literal address without a lookup: check it here instead.
    const decision = outboundDecision(list, literal, literal);
    if (!decision.allowed) return Promise.reject(new OutboundRefused(decision.reason));
  }
  const body = form.toString();
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<PostResult>((resolve, reject) => {
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), 'user-agent': 'Nordlys ID' },
        ...(own ? {} : { lookup: guardedLookup(list) as unknown as typeof dns.lookup }),
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
      },
    );
    req.on('error', (err) => reject(err));
    req.end(body);
  });
}
