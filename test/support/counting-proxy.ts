/**
 * A load balancer for tests: one loopback port in front of service instances (the issuer's URL) or of
 * an upstream mock, that passes every request on unchanged, taking turns between its targets, and counts
 * the calls made to the BankID RP API (`…/rp/v6.0/<endpoint>`) by endpoint and orderRef, with the status
 * each got. Put in front of the BankID mock (or of an instance that mounts it), the count and the
 * answers are what BankID saw and said.
 */
import http from 'node:http';
import type net from 'node:net';

export interface CountingProxy {
  url: string;
  port: number;
  /** Where requests go, in turn (set once the instances listen). */
  targets: string[];
  /** How many calls reached the RP API endpoint, for one order or for all. */
  calls(endpoint: string, orderRef?: string): number;
  /** The statuses BankID answered those calls with, in order. */
  answers(endpoint: string, orderRef?: string): number[];
  close(): Promise<void>;
}

const RP_API = /\/rp\/v6\.0\/([a-z/]+)$/;

export async function startCountingProxy(): Promise<CountingProxy> {
  const seen: Array<{ endpoint: string; orderRef: string | undefined; status?: number }> = [];
  const matching = (endpoint: string, orderRef: string | undefined) => seen.filter((c) => c.endpoint === endpoint && (orderRef === undefined || c.orderRef === orderRef));
  let turn = 0;
  const proxy: CountingProxy = {
    url: '',
    port: 0,
    targets: [],
    calls: (endpoint, orderRef) => matching(endpoint, orderRef).length,
    answers: (endpoint, orderRef) => matching(endpoint, orderRef).flatMap((c) => (c.status === undefined ? [] : [c.status])),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const api = RP_API.exec(req.url ?? '');
      let call: (typeof seen)[number] | undefined;
      if (api && req.method === 'POST') {
        let orderRef: string | undefined;
        try {
          orderRef = (JSON.parse(body.toString('utf8')) as { orderRef?: string }).orderRef;
        } catch {
          orderRef = undefined;
        }
        call = { endpoint: api[1]!, orderRef };
        seen.push(call);
      }
      const target = new URL(proxy.targets[turn++ % proxy.targets.length]!);
      const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        if (call) call.status = answer.statusCode;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as net.AddressInfo).port;
  proxy.url = `http://127.0.0.1:${proxy.port}`;
  const close = proxy.close;
  proxy.close = () => {
    for (const s of sockets) s.destroy();
    return close();
  };
  return proxy;
}
