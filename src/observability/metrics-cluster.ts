/**
 * Metrics of a cluster (WORKERS > 1): a scrape answers for every worker, never for the one it reached.
 * Rules:
 * - each worker reports its own registry when the primary asks (prom-client's AggregatorRegistry,
 *   over the cluster's IPC channel); the primary sums counters and histograms across workers and
 *   aggregates the process gauges as prom-client's default metrics say (sum, average, first, omit);
 * - with METRICS_PORT the primary itself listens on it and answers from the aggregate;
 * - with METRICS_TOKEN on the main port a worker answers the scrape: it asks the primary for the
 *   aggregate (one IPC request, matched by id) and gives up after WORKER_SCRAPE_TIMEOUT_MS, or at once
 *   when the channel is closed, so a scrape never hangs; metrics-http turns that into a 503;
 * - a worker that does not answer the primary within prom-client's 5 s fails the whole scrape (503),
 *   rather than reporting a cluster with a worker's counters silently missing.
 * Single-process mode uses none of this.
 */
import cluster, { type Worker } from 'node:cluster';
import type http from 'node:http';
import client from 'prom-client';
import { MetricsUnavailableError, type ScrapeSource } from './metrics.js';
import { createMetricsServer } from './metrics-http.js';

const SCRAPE_REQUEST = 'nordlys:metrics-scrape';
const SCRAPE_ANSWER = 'nordlys:metrics-answer';
/** Above prom-client's own 5 s wait for the workers, so the primary's answer (or its error) comes first. */
export const WORKER_SCRAPE_TIMEOUT_MS = 6_000;

type ScrapeAnswer = { type: typeof SCRAPE_ANSWER; id: number; body?: string; error?: string };


let aggregator: client.AggregatorRegistry<client.PrometheusContentType> | undefined;
/** prom-client's aggregator: constructing it adds its IPC listeners (once per process). */
function clusterAggregator(): client.AggregatorRegistry<client.PrometheusContentType> {
  aggregator ??= new client.AggregatorRegistry();
  return aggregator;
}

/**
 * In the primary: the cluster's aggregate as a scrape source, and the answer to workers that ask for it.
 * Returns the source (for the METRICS_PORT listener) and a function that stops answering.
 */
export function primaryMetrics(): { source: ScrapeSource; stop: () => void } {
  const registry = clusterAggregator();
  const source: ScrapeSource = {
    contentType: registry.contentType,
    scrape: () => registry.clusterMetrics().catch((err: unknown) => {
      throw new MetricsUnavailableError(err instanceof Error ? err.message : String(err));
    }),
  };
  const onMessage = (worker: Worker, message: unknown) => {
    const request = message as { type?: unknown; id?: unknown } | null;
    if (request?.type !== SCRAPE_REQUEST || typeof request.id !== 'number') return;
    const id = request.id;
    const reply = (answer: Omit<ScrapeAnswer, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: SCRAPE_ANSWER, id, ...answer });
    };
    source.scrape().then(
      (body) => reply({ body }),
      (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
    );
  };
  cluster.on('message', onMessage);
  return { source, stop: () => cluster.off('message', onMessage) };
}

/** The IPC channel to the primary, as a worker's `process` offers it (a fake one in tests). */
export interface PrimaryChannel {
  send(message: unknown): boolean;
  connected: boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/**
 * In a worker: its own registry is what it reports to the primary, and the scrape source for /metrics
 * on the main port is the primary's aggregate.
 */
export function workerMetrics(own: client.Registry, channel: PrimaryChannel = process as unknown as PrimaryChannel, timeoutMs = WORKER_SCRAPE_TIMEOUT_MS): ScrapeSource {
  clusterAggregator();
  client.AggregatorRegistry.setRegistries([own]);
  return { contentType: own.contentType, scrape: () => askPrimary(channel, timeoutMs) };
}

let nextId = 0;

/** One request to the primary for the aggregate: its answer, or MetricsUnavailableError (closed channel, error, timeout). */
export function askPrimary(channel: PrimaryChannel, timeoutMs: number): Promise<string> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const finish = (err: Error | undefined, body?: string) => {
      clearTimeout(timer);
      channel.off('message', onMessage);
      if (err) reject(err);
      else resolve(body ?? '');
    };
    const onMessage = (message: unknown) => {
      const answer = message as Partial<ScrapeAnswer> | null;
      if (answer?.type !== SCRAPE_ANSWER || answer.id !== id) return;
      if (typeof answer.body === 'string') finish(undefined, answer.body);
      else finish(new MetricsUnavailableError(`the primary could not aggregate the workers' metrics: ${answer.error ?? 'no answer'}`));
    };
    const timer = setTimeout(() => finish(new MetricsUnavailableError('the primary did not answer the metrics request in time')), timeoutMs);
    channel.on('message', onMessage);
    try {
      // send() returning false only means the message is queued; a closed channel is `connected: false`.
      if (!channel.connected) finish(new MetricsUnavailableError('no channel to the primary'));
      else channel.send({ type: SCRAPE_REQUEST, id });
    } catch {
      finish(new MetricsUnavailableError('no channel to the primary'));
    }
  });
}

/**
 * The primary's part while metrics are on: answer the workers that are asked a scrape on the main port,
 * and with a port, listen on it (on `host`). Returns the port listened on and a close function.
 */
export async function startPrimaryMetrics(settings: { port: number | undefined; token: string | undefined }, host: string): Promise<{ port: number | undefined; close: () => Promise<void> }> {
  const { source, stop } = primaryMetrics();
  if (settings.port === undefined) return { port: undefined, close: async () => stop() };
  const server: http.Server = createMetricsServer(source, settings.token);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
