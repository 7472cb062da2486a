/**
 * A mock on a port of its own, as a real upstream is: tests start one with `port: 0` and point the
 * service's IDPORTEN_ISSUER or BANKID_BASE_URL at it. The server listens before the mock is built,
 * because the mock's URLs (an OpenID issuer) need the port it got. `close()` cuts open connections.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';

export interface StandaloneOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: a mock is for this machine. */
  host?: string;
}

export interface RunningMock {
  /** Where the mock answers, e.g. `http://127.0.0.1:54321` (no trailing slash). */
  url: string;
  close(): Promise<void>;
}

export async function serveStandalone(options: StandaloneOptions, build: (url: string) => Promise<Koa>): Promise<RunningMock> {
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`;
  try {
    server.on('request', (await build(url)).callback());
  } catch (err) {
    await close();
    throw err;
  }
  return { url, close };
}
