/**
 * The HTTP server and its graceful stop, so a deploy drops no request. Rules:
 * - draining first: `readiness.draining` turns /readyz to 503 while everything else is still served
 *   (load balancers need a few probes to notice), and responses carry `Connection: close` so
 *   keep-alive clients reconnect elsewhere;
 * - then the listener closes (no new connections), idle keep-alive connections are closed, and a
 *   connection is closed as soon as its in-flight request is answered;
 * - whatever is still open after the grace period is destroyed, so the stop always ends.
 * Timeouts: headers within 20 s, a whole request within 30 s (slow clients cannot hold a worker).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../logger.js';

/** What /readyz reads: set once shutdown begins. */
export interface Readiness {
  draining: boolean;
}

export interface GracefulServer {
  server: http.Server;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Drain for `drainSeconds`, stop accepting, wait up to `graceSeconds` for in-flight requests. */
  drainAndClose(drainSeconds: number, graceSeconds: number): Promise<void>;
  /** Stops at once, cutting open connections (tests, failed start-up). */
  closeNow(): Promise<void>;
}

export function createGracefulServer(handler: http.RequestListener, logger: Logger, readiness: Readiness): GracefulServer {
  let closing = false;
  const server = http.createServer((req, res) => {
    if (logger.isLevelEnabled('debug')) logger.debug({ method: req.method, path: (req.url ?? '').split('?')[0] }, 'request received');
    if (readiness.draining) res.setHeader('Connection', 'close');
    // A keep-alive connection whose request was in flight when the listener closed becomes idle here.
    res.once('finish', () => {
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
    handler(req, res);
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;

  const closed = () =>
    new Promise<void>((resolve) => {
      closing = true;
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeIdleConnections();
    });

  return {
    server,
    async listen(port, host) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return server.address() as AddressInfo;
    },
    async drainAndClose(drainSeconds, graceSeconds) {
      readiness.draining = true;
      logger.info({ drainSeconds }, 'draining: /readyz answers 503, requests are still served');
      if (drainSeconds > 0) await delay(drainSeconds * 1000);
      const done = closed();
      logger.info({ graceSeconds }, 'stopped accepting connections; in-flight requests are finishing');
      const grace = setTimeout(() => {
        server.getConnections((_err, open) => logger.warn({ connections: open }, 'grace period over: closing the remaining connections'));
        server.closeAllConnections();
      }, graceSeconds * 1000);
      await done;
      clearTimeout(grace);
      logger.info('http server closed: every connection ended');
    },
    async closeNow() {
      const done = closed();
      server.closeAllConnections();
      await done;
    },
  };
}
