/**
 * Starts the service: validated config → wiring → listen. Tells the operator where discovery is, which
 * clients are configured and whether development defaults are in use. With WORKERS above 1 on
 * PostgreSQL this process becomes the primary of a cluster (src/cluster.ts) and each worker runs the
 * rest of this file; a worker's log lines carry its `worker` number.
 * SIGTERM/SIGINT stop it gracefully (service.shutdown: drain, finish in-flight requests, close the pool)
 * and it exits 0. Alone, a second signal during that wait ends the process at once (the listeners are
 * `once`); in a cluster the primary decides that, so a worker takes the first signal and ignores the rest.
 * Logs are written asynchronously: every exit flushes them first.
 */
import { loadConfigFromEnvironment, developmentDefaults, productionWarnings, ConfigError, RECOMMENDED_MMAP_THRESHOLD, type Config } from './config/index.js';
import { createLogger, type Logger } from './logger.js';
import { createService } from './service/index.js';
import { ClientsFileError } from './provider/clients-file.js';
import { announceReady, processRole, runPrimary, workerEnv, type ProcessRole } from './cluster.js';
import { startPrimaryMetrics } from './observability/metrics-cluster.js';
import { missingNodeFlags, namesHugetlb, RECOMMENDED_GLIBC_TUNABLES, withNodeFlags } from './config/operations.js';

async function serve(config: Config, rootLogger: Logger, role: ProcessRole): Promise<void> {
  const logger = role.kind === 'worker' ? rootLogger.child({ worker: role.id }) : rootLogger;
  // What the operator reads at start-up, once: alone, or by the cluster's first worker.
  const announce = role.kind !== 'worker' || role.first;
  if (announce) for (const warning of productionWarnings(config)) logger.warn(warning);
  if (role.kind === 'single' && role.ignoredWorkers) {
    logger.info({ workers: 1, requested: role.ignoredWorkers }, 'SQLite serves one process: WORKERS applies to PostgreSQL only');
  }
  const service = await createService({ config, logger });
  const { url, metricsUrl } = await service.listen();
  // Before anyone is told it runs: a stop signal from then on is always a graceful stop.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    service.shutdown().then(
      () => exitFlushed(rootLogger, 0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exitFlushed(rootLogger, 1);
      },
    );
  };
  const listen = role.kind === 'worker' ? process.on.bind(process) : process.once.bind(process);
  listen('SIGTERM', () => stop('SIGTERM'));
  listen('SIGINT', () => stop('SIGINT'));

  if (announce) {
    logger.info(
      { clients: service.clients.map((c) => ({ client_id: c.client_id, name: c.client_name, redirect_uris: c.redirect_uris, auth: c.token_endpoint_auth_method ?? 'client_secret_basic' })) },
      `${service.clients.length} client(s) configured from ${config.clientsFile}`,
    );
    logger.info({ database: config.databaseUrl ? 'postgresql' : `sqlite in ${config.deployment.sqliteFile}` }, 'store');
    const defaults = developmentDefaults(config);
    if (defaults.length) logger.warn({ developmentDefaults: defaults }, 'running on development defaults: not for production');
    if (config.mocksEnabled) logger.warn('mock upstreams are enabled');
    if (config.mallocMmapThreshold === undefined) {
      // A worker always has it (the primary sets it); alone, only the start command can.
      logger.info({ recommended: `MALLOC_MMAP_THRESHOLD_=${RECOMMENDED_MMAP_THRESHOLD}` }, 'MALLOC_MMAP_THRESHOLD_ is not set: each argon2id verify may leave 19 MiB resident (set it in the environment that starts node)');
    }
    if (!namesHugetlb(config.glibcTunables)) {
      logger.info({ recommended: `GLIBC_TUNABLES=${RECOMMENDED_GLIBC_TUNABLES}` }, 'GLIBC_TUNABLES does not set glibc.malloc.hugetlb: each argon2id verify faults its 19 MiB buffer in again in 4 KiB pages (README "Memory")');
    }
    const missing = missingNodeFlags(config.nodeOptions, process.execArgv);
    if (missing.length) {
      // Likewise: V8 sizes its heap when node starts, so only NODE_OPTIONS or the command line can.
      logger.info({ missing, recommended: `NODE_OPTIONS="${withNodeFlags(config.nodeOptions)}"` }, 'the recommended node flags are not set: the heap grows further between collections, or every promise pays for AsyncLocalStorage (README "Memory", "CPU per request")');
    }
    // Last, so that whoever waits for it has read everything above; written at once, not with the next batch.
    logger.info({ listening: url, issuer: config.issuer, discovery: `${config.issuer}/.well-known/openid-configuration`, ...(config.playground.enabled ? { playground: `${config.issuer}/playground` } : {}), ...(metricsUrl ? { metrics: `${metricsUrl}/metrics` } : {}) }, 'Nordlys ID is running');
    rootLogger.flush();
  }
  // Then the primary (in a cluster) may start the other workers: the first one's lines are out by then.
  announceReady();
}

/** Exits once the asynchronous log destination has written everything (the last lines matter). */
function exitFlushed(logger: Logger, code: number): void {
  logger.flush(() => process.exit(code));
}

async function main(): Promise<void> {
  const config = loadConfigFromEnvironment();
  const logger = createLogger(config.logLevel);
  const role = processRole({ workers: config.workers, postgres: Boolean(config.databaseUrl) });
  if (role.kind === 'primary') {
    // Metrics of the whole cluster: the primary aggregates its workers' (src/observability/metrics-cluster.ts).
    const metricsOn = config.metrics.port !== undefined || config.metrics.token !== undefined;
    const metrics = metricsOn ? await startPrimaryMetrics(config.metrics, config.host) : undefined;
    if (metrics?.port !== undefined) logger.info({ metrics: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${metrics.port}/metrics` }, 'cluster metrics listening');
    const env = workerEnv({
      mallocMmapThreshold: config.mallocMmapThreshold,
      glibcTunables: config.glibcTunables,
      recommended: { mallocMmapThreshold: RECOMMENDED_MMAP_THRESHOLD, glibcTunables: RECOMMENDED_GLIBC_TUNABLES },
      nodeOptions: withNodeFlags(config.nodeOptions),
    });
    const code = await runPrimary({ workers: role.workers, logger, env });
    await metrics?.close();
    exitFlushed(logger, code);
    return;
  }
  await serve(config, logger, role);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof ClientsFileError) {
    process.stderr.write(`Nordlys ID cannot start.\n${err.message}\n`);
  } else {
    process.stderr.write(`Nordlys ID failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  // pino writes what it still holds when the process exits.
  process.exit(1);
});
