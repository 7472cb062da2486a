/**
 * The metrics of one service instance, from its settings: off (no registry, nothing counted, /metrics
 * 404) unless METRICS_PORT or METRICS_TOKEN is set; with METRICS_PORT a listener of its own on HOST,
 * otherwise /metrics on the main port behind METRICS_TOKEN. Built once by the composition root, which
 * hands each module the one or two counting functions it needs. In a cluster worker the registry is
 * reported to the primary, /metrics on the main port answers with the cluster's aggregate, and the
 * METRICS_PORT listener is the primary's, not the worker's (metrics-cluster.ts).
 */
import cluster from 'node:cluster';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Middleware } from 'koa';
import type { Knex } from 'knex';
import { createMetrics, disabledMetrics, type Metrics, type MetricsRegistry, type PoolGauges } from './metrics.js';
import { createMetricsServer, metricsEndpoint, requestTimer } from './metrics-http.js';
import { workerMetrics } from './metrics-cluster.js';

export interface MetricsSettings {
  port: number | undefined;
  token: string | undefined;
}

export interface ServiceMetrics {
  metrics: Metrics;
  /** For createApp: the request timer, and /metrics when the main port serves it. */
  app: { timer: Middleware; endpoint?: Middleware | undefined } | undefined;
  /** Starts the METRICS_PORT listener, if there is one; returns its port. */
  listen(host: string): Promise<number | undefined>;
  close(): Promise<void>;
}

interface TarnPool {
  numUsed(): number;
  numPendingAcquires(): number;
  numFree(): number;
}

/** knex's connection pool (tarn) as gauges; read at scrape time, zero while there is no pool. */
export function knexPoolGauges(knex: Knex): PoolGauges {
  const pool = () => (knex.client as { pool?: TarnPool | undefined }).pool;
  return { inUse: () => pool()?.numUsed() ?? 0, waiting: () => pool()?.numPendingAcquires() ?? 0, idle: () => pool()?.numFree() ?? 0 };
}

export function createServiceMetrics(settings: MetricsSettings, pool: PoolGauges | undefined): ServiceMetrics {
  if (settings.port === undefined && settings.token === undefined) {
    return { metrics: disabledMetrics, app: undefined, listen: async () => undefined, close: async () => undefined };
  }
  const source: MetricsRegistry = createMetrics({ pool });
  const inCluster = cluster.isWorker;
  const scraped = inCluster ? workerMetrics(source.registry) : source;
  let server: http.Server | undefined;
  return {
    metrics: source.metrics,
    app: {
      timer: requestTimer(source.metrics.httpRequest),
      endpoint: settings.port === undefined && settings.token !== undefined ? metricsEndpoint(scraped, settings.token) : undefined,
    },
    async listen(host) {
      if (settings.port === undefined || inCluster) return undefined;
      const listening = createMetricsServer(source, settings.token);
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(settings.port, host, () => resolve());
      });
      return (listening.address() as AddressInfo).port;
    },
    async close() {
      const listening = server;
      server = undefined;
      if (!listening) return;
      listening.closeAllConnections();
      await new Promise<void>((resolve) => listening.close(() => resolve()));
    },
  };
}
