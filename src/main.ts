/**
 * Starts the service: validated config → wiring → listen. Tells the operator where discovery is, which
 * clients are configured and whether development defaults are in use. SIGTERM/SIGINT stop it gracefully
 * (service.shutdown: drain, finish in-flight requests, close the pool) and it exits 0; a second signal
 * during that wait ends the process at once (the listeners are `once`).
 */
import { loadConfigFromEnvironment, developmentDefaults, productionWarnings, ConfigError } from './config/index.js';
import { createLogger } from './logger.js';
import { createService } from './service/index.js';
import { ClientsFileError } from './provider/clients-file.js';

async function main(): Promise<void> {
  const config = loadConfigFromEnvironment();
  const logger = createLogger(config.logLevel);
  for (const warning of productionWarnings(config)) logger.warn(warning);
  const service = await createService({ config, logger });
  const { url, metricsUrl } = await service.listen();

  logger.info({ listening: url, issuer: config.issuer, discovery: `${config.issuer}/.well-known/openid-configuration`, ...(config.playground.enabled ? { playground: `${config.issuer}/playground` } : {}), ...(metricsUrl ? { metrics: `${metricsUrl}/metrics` } : {}) }, 'Nordlys ID is running');
  logger.info(
    { clients: service.clients.map((c) => ({ client_id: c.client_id, name: c.client_name, redirect_uris: c.redirect_uris, auth: c.token_endpoint_auth_method ?? 'client_secret_basic' })) },
    `${service.clients.length} client(s) configured from ${config.clientsFile}`,
  );
  logger.info({ database: config.databaseUrl ? 'postgresql' : `sqlite in ${config.deployment.sqliteFile}` }, 'store');
  const defaults = developmentDefaults(config);
  if (defaults.length) logger.warn({ developmentDefaults: defaults }, 'running on development defaults: not for production');
  if (config.mocksEnabled) logger.warn('mock upstreams are enabled');

  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // Flushed before exiting: pino writes asynchronously, and the last lines (the pool closed) matter.
    const exit = (code: number) => logger.flush(() => process.exit(code));
    service.shutdown().then(
      () => exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof ClientsFileError) {
    process.stderr.write(`Nordlys ID cannot start.\n${err.message}\n`);
  } else {
    process.stderr.write(`Nordlys ID failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
