/**
 * WORKERS: the service as a node:cluster of stateless workers that share one port. Rules:
 * - on SQLite the service is one process, whatever WORKERS says: one file, one writer (it says so
 *   at start-up when WORKERS asked for more);
 * - the primary serves nothing and opens no database. It starts one worker and waits until that one
 *   listens (it has migrated the database, generated the signing keys and imported the clients: the
 *   one-time start-up work), then starts the others, which find that work done;
 * - a worker that ends before it listens ends the start: the primary stops the others and exits 1;
 * - a worker that dies while serving is replaced, at most MAX_RESTARTS times within RESTART_WINDOW_MS;
 *   one more and the primary stops the rest and exits 1, for the orchestrator to restart the whole;
 * - SIGTERM or SIGINT to the primary reaches every worker as SIGTERM; each drains through its graceful
 *   server (/readyz 503, in-flight requests finish) and exits. The primary exits when every worker is
 *   gone: 0 when each exited 0, else 1. A second signal ends the workers at once (SIGKILL).
 * - each worker starts with MALLOC_MMAP_THRESHOLD_ and GLIBC_TUNABLES (the operator's values, else the
 *   recommended ones): glibc reads them when a process starts; without the first argon2id's buffers stay
 *   resident, without the second each verify faults its buffer in again page by page (workerEnv);
 * - and with NODE_OPTIONS holding the recommended V8 heap flags ahead of the primary's own NODE_OPTIONS,
 *   so an operator's heap setting wins (a worker's command line is the primary's execArgv, which wins too);
 * The kernel hands each new connection to the next worker in turn (node:cluster's round robin).
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from './logger.js';

export const MAX_RESTARTS = 5;
export const RESTART_WINDOW_MS = 60_000;

/** The message a worker sends its primary once its service listens. */
const READY = 'nordlys:worker-ready';

export type ProcessRole =
  /** Serve in this process, no cluster (WORKERS=1, or SQLite). */
  | { kind: 'single'; ignoredWorkers?: number }
  /** Fork and watch `workers` workers. */
  | { kind: 'primary'; workers: number }
  /** Serve as one worker of a cluster; `first` is the worker that did the start-up work. */
  | { kind: 'worker'; id: number; first: boolean };

/** What this process is, from WORKERS and the store. */
export function processRole(settings: { workers: number; postgres: boolean }): ProcessRole {
  if (cluster.isWorker) return { kind: 'worker', id: cluster.worker!.id, first: cluster.worker!.id === 1 };
  if (settings.workers <= 1) return { kind: 'single' };
  if (!settings.postgres) return { kind: 'single', ignoredWorkers: settings.workers };
  return { kind: 'primary', workers: settings.workers };
}

/** A worker tells its primary that it serves (main.ts, after listen()). Nothing outside a cluster. */
export function announceReady(): void {
  if (cluster.isWorker) process.send?.({ type: READY });
}

/**
 * Whether another crash may be answered with a restart: fewer than `max` restarts in the window
 * before `now`. `history` (restart times in ms) is pruned in place.
 */
export function restartAllowed(history: number[], now: number, max = MAX_RESTARTS, windowMs = RESTART_WINDOW_MS): boolean {
  while (history.length && history[0]! <= now - windowMs) history.shift();
  return history.length < max;
}

/** What a worker's start needs that glibc and V8 read before any of our code runs. */
export interface WorkerStartSettings {
  /** The primary's MALLOC_MMAP_THRESHOLD_ and GLIBC_TUNABLES, when it was given them. */
  mallocMmapThreshold: string | undefined;
  glibcTunables: string | undefined;
  /** What each stands for when the primary was not given it (config/operations.ts). */
  recommended: { mallocMmapThreshold: string; glibcTunables: string };
  /** The worker's NODE_OPTIONS: the primary's own with the recommended V8 heap flags ahead of it (withNodeFlags). */
  nodeOptions?: string;
}

/**
 * What a worker's environment adds to the primary's: a fixed malloc mmap threshold, so every 19 MiB
 * argon2id buffer goes back to the system when freed, and malloc's huge-page tunable, so the next verify
 * faults it in cheaply (an operator's own value of either is kept as it is); and, given, NODE_OPTIONS,
 * which V8 reads when the worker's heap is created.
 */
export function workerEnv(settings: WorkerStartSettings): Record<string, string> {
  const { recommended, nodeOptions } = settings;
  return {
    MALLOC_MMAP_THRESHOLD_: settings.mallocMmapThreshold ?? recommended.mallocMmapThreshold,
    GLIBC_TUNABLES: settings.glibcTunables ?? recommended.glibcTunables,
    ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }),
  };
}

export interface PrimaryOptions {
  workers: number;
  /** Added to each worker's environment (workerEnv). */
  env?: Record<string, string>;
  logger: Logger;
  /** A monotonic clock in ms for the restart window (performance.now by default). */
  now?: () => number;
}

/** Runs the primary until every worker is gone; resolves with the exit code. */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { workers, logger } = options;
  const now = options.now ?? (() => performance.now());
  const ready = new Set<Worker>();
  /** Forked and not yet seen to exit (their 'exit' event decides the exit code, so wait for each). */
  const running = new Set<Worker>();
  const restarts: number[] = [];
  let stopping = false;
  let failed = false;
  let started = false;

  return new Promise((resolve) => {
    const finishIfEmpty = () => {
      if (running.size > 0) return;
      logger.info({ exitCode: failed ? 1 : 0 }, 'every worker has stopped');
      resolve(failed ? 1 : 0);
    };
    const stopAll = (signal: NodeJS.Signals) => {
      for (const worker of running) if (!worker.isDead()) worker.process.kill(signal);
    };
    const fork = () => {
      const worker = cluster.fork(options.env);
      running.add(worker);
      worker.on('message', (message: unknown) => {
        if ((message as { type?: unknown } | null)?.type !== READY || ready.has(worker)) return;
        ready.add(worker);
        logger.info({ worker: worker.id, pid: worker.process.pid }, 'worker listening');
        if (!started) {
          started = true;
          // The first worker did the one-time start-up work; the others start together.
          for (let i = 1; i < workers && !stopping; i += 1) fork();
        }
        if (ready.size === workers) logger.info({ workers }, 'every worker is listening');
      });
      worker.on('exit', (code, signal) => {
        running.delete(worker);
        const wasReady = ready.delete(worker);
        if (stopping) {
          if (code !== 0) failed = true;
          logger.info({ worker: worker.id, pid: worker.process.pid, code, signal }, 'worker stopped');
          return finishIfEmpty();
        }
        if (!wasReady) {
          // A worker that cannot start says why on stderr; more of the same would fail the same way.
          logger.error({ worker: worker.id, code, signal }, 'a worker failed to start: stopping');
          failed = true;
          stopping = true;
          stopAll('SIGTERM');
          return finishIfEmpty();
        }
        if (!restartAllowed(restarts, now())) {
          logger.error({ worker: worker.id, code, signal, restarts: restarts.length, windowSeconds: RESTART_WINDOW_MS / 1000 }, 'workers keep dying: stopping');
          failed = true;
          stopping = true;
          stopAll('SIGTERM');
          return finishIfEmpty();
        }
        restarts.push(now());
        logger.error({ worker: worker.id, code, signal }, 'a worker died: starting another');
        fork();
      });
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: ending the workers at once');
        failed = true;
        stopAll('SIGKILL');
        return;
      }
      stopping = true;
      logger.info({ signal, workers: running.size }, 'shutting down: every worker drains');
      stopAll('SIGTERM');
      finishIfEmpty();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    logger.info({ workers }, 'starting the workers: one first, then the rest');
    fork();
  });
}
