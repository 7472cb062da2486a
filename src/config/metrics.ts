/** Prometheus metrics (src/observability/): off unless METRICS_PORT or METRICS_TOKEN is set; the port differs from PORT (index.ts). */
import { z } from 'zod';
import type { EnvOf } from './fields.js';

export interface MetricsConfig {
  /** Prometheus metrics (src/observability/): off unless METRICS_PORT or METRICS_TOKEN is set. */
  metrics: {
    /** A listener of its own for /metrics (on HOST); then the main port does not serve it. */
    port: number | undefined;
    /** Bearer token every scrape must present; required for /metrics on the main port. */
    token: string | undefined;
  };
}

export const metricsEnv = {
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters (openssl rand -hex 32)').optional(),
};

export function readMetrics(e: EnvOf<typeof metricsEnv>): MetricsConfig {
  return { metrics: { port: e.METRICS_PORT, token: e.METRICS_TOKEN } };
}
