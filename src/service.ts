/**
 * Wires the service from a Config: database and migrations, secrets, signing keys, clients, the
 * provider, our pages and the koa app. Used by main.ts and by the black-box tests, so both run the
 * same wiring. Rules: start-up fails with a clear message on a bad clients file or config; a running
 * instance re-reads the signing keys periodically so rotation needs no restart.
 */
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from './config.js';
import { systemClock, type Clock } from './clock.js';
import type { Logger } from './logger.js';
import { appRoot } from './app-root.js';
import { openDatabase, type Database } from './store/db.js';
import { migrateLatest } from './store/migrate.js';
import { resolveSecrets, type ResolvedSecrets } from './store/secrets.js';
import { ensureSigningKeys, listKeys, providerJwks } from './store/signing-keys.js';
import { createAccountRepository } from './store/accounts.js';
import { createAuditLog } from './store/audit.js';
import { createAdapterClass } from './store/oidc-adapter.js';
import { startSweeper } from './store/sweeper.js';
import { readClientsFile, ClientsFileError, type ClientMetadata } from './provider/clients-file.js';
import { createProvider, maxSignedTokenSeconds } from './provider/create-provider.js';
import { logProviderEvents } from './provider/log-events.js';
import { createRenderer } from './interactions/render.js';
import { createCsrf } from './interactions/csrf.js';
import { createRestartStore } from './interactions/restart.js';
import { createInteractionRouter } from './interactions/router.js';
import { createApp } from './http/app.js';

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** An already open database (tests share one between instances); otherwise opened from config. */
  db?: Database;
}

export interface Service {
  app: Koa;
  db: Database;
  secrets: ResolvedSecrets;
  clients: ClientMetadata[];
  provider(): Provider;
  /** Re-reads the signing keys and swaps in a provider with the new key order when it changed. */
  reloadKeys(): Promise<boolean>;
  listen(): Promise<{ server: http.Server; url: string }>;
  close(): Promise<void>;
}

export async function createService(options: ServiceOptions): Promise<Service> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const ownsDb = !options.db;
  const db = options.db ?? openDatabase({ databaseUrl: config.databaseUrl, sqliteFile: path.join(config.dataDir, 'nordlys.sqlite') });
  const applied = await migrateLatest(db);
  if (applied.length) logger.info({ migrations: applied }, 'database migrated');

  const secrets = await resolveSecrets(db, clock, config.secrets);
  const createdKeys = await ensureSigningKeys(db, clock);
  if (createdKeys.created.length) logger.info({ kids: createdKeys.created }, 'signing keys generated');
  const clients = readClientsFile(config.clientsFile);

  const root = appRoot();
  const renderer = createRenderer(path.join(root, 'views'));
  const accounts = createAccountRepository(db, clock);
  const audit = createAuditLog(db, clock);
  const verifySeconds = maxSignedTokenSeconds(config);

  const build = async () => {
    const keys = await listKeys(db);
    const jwks = providerJwks(keys, clock.now(), verifySeconds);
    const provider = createProvider({ config, db, clock, accounts, renderer, secrets, clients, jwks });
    logProviderEvents(provider, logger);
    return { provider, order: jwks.keys.map((k) => k.kid).join(',') };
  };
  let current = await build();
  for (const client of clients) {
    try {
      await current.provider.Client.validate(client);
    } catch (err) {
      const e = err as { error_description?: string; message: string };
      throw new ClientsFileError(config.clientsFile, [`client ${client.client_id}: ${e.error_description ?? e.message}`]);
    }
  }

  const csrf = createCsrf(secrets.cookieKeys[0]!);
  const restart = createRestartStore(new (createAdapterClass(db, clock))('InteractionRestart'), config.issuer);
  const interactions = createInteractionRouter({
    getProvider: () => current.provider,
    renderer,
    csrf,
    restart,
    bodyLimitBytes: config.bodyLimitBytes,
    accounts,
    audit,
    logger,
  });
  const app = createApp({
    logger,
    db,
    renderer,
    trustProxy: config.trustProxy,
    cookieKeys: secrets.cookieKeys,
    publicDir: path.join(root, 'public'),
    getProvider: () => current.provider,
    pageRouters: [interactions],
  });

  const reloadKeys = async () => {
    const next = await build();
    if (next.order === current.order) return false;
    current = next;
    logger.info({ kids: next.order }, 'signing keys reloaded');
    return true;
  };

  const timers: Array<{ stop(): void }> = [];
  let server: http.Server | undefined;
  return {
    app,
    db,
    secrets,
    clients,
    provider: () => current.provider,
    reloadKeys,
    async listen() {
      server = http.createServer(app.callback());
      server.headersTimeout = 20_000;
      server.requestTimeout = 30_000;
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(config.port, config.host, () => resolve());
      });
      const sweeper = startSweeper(db, clock, config.sweepIntervalSeconds, (err) => logger.warn({ err }, 'sweep failed'));
      const keyTimer = setInterval(() => {
        reloadKeys().catch((err: unknown) => logger.warn({ err }, 'key reload failed'));
      }, config.keys.refreshSeconds * 1000);
      keyTimer.unref();
      timers.push(sweeper, { stop: () => clearInterval(keyTimer) });
      const { port } = server.address() as AddressInfo;
      return { server, url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}` };
    },
    async close() {
      for (const t of timers) t.stop();
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      if (ownsDb) await db.close();
    },
  };
}
