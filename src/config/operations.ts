/** Running the service: worker processes, the periodic sweep of expired rows, graceful shutdown, and the key that protects signing keys at rest. */
import os from 'node:os';
import { z } from 'zod';
import { hex32, seconds, type EnvOf } from './fields.js';

export interface OperationsConfig {
  /** WORKERS: processes serving requests (src/cluster.ts); SQLite always runs one. */
  workers: number;
  /**
   * MALLOC_MMAP_THRESHOLD_ as the process was started with it (glibc reads it before Node runs, so it
   * only matters here to pass it on to cluster workers and to say when it is missing). Unset, each
   * argon2id verify's 19 MiB buffer ends up retained in a per-thread malloc arena after the first few.
   */
  mallocMmapThreshold: string | undefined;
  /** How often expired rows (oidc-provider artefacts, flows, counters, old accounts and audit events) are swept. */
  sweepIntervalSeconds: number;
  /** Graceful shutdown and the protection of signing keys at rest. */
  operations: {
    /** 64 hexadecimal characters: AES-256-GCM key that private signing keys are encrypted under. */
    keyEncryptionKey: string | undefined;
    /** After SIGTERM, /readyz answers 503 and the service keeps serving this long (load balancers notice). */
    shutdownDrainSeconds: number;
    /** Then in-flight requests get this long to finish before their connections are destroyed. */
    shutdownGraceSeconds: number;
  };
}

/**
 * The MALLOC_MMAP_THRESHOLD_ every start path sets (Dockerfile, npm start, the cluster's workers):
 * a fixed 128 KiB threshold turns off glibc's dynamic one, so large buffers (argon2id's 19 MiB) are
 * mmapped and returned to the system when freed instead of staying in an arena.
 */
export const RECOMMENDED_MMAP_THRESHOLD = '131072';

export const operationsEnv = {
  SWEEP_INTERVAL_SECONDS: seconds.default(300),
  KEY_ENCRYPTION_KEY: hex32.optional(),
  SHUTDOWN_DRAIN_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(1).max(600).default(25),
  MALLOC_MMAP_THRESHOLD_: z.string().regex(/^\d+$/, 'must be a number of bytes (131072 is recommended)').optional(),
  WORKERS: z.coerce.number({ message: 'must be a whole number of worker processes' }).int('must be a whole number of worker processes').min(1).max(256).optional(),
};

export function readOperations(e: EnvOf<typeof operationsEnv>, production: boolean): OperationsConfig {
  return {
    // Every core in production; one process in development, where a debugger and the logs stay simple.
    workers: e.WORKERS ?? (production ? os.availableParallelism() : 1),
    mallocMmapThreshold: e.MALLOC_MMAP_THRESHOLD_,
    sweepIntervalSeconds: e.SWEEP_INTERVAL_SECONDS,
    operations: {
      keyEncryptionKey: e.KEY_ENCRYPTION_KEY,
      shutdownDrainSeconds: e.SHUTDOWN_DRAIN_SECONDS,
      shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    },
  };
}
