/**
 * The one composition root: wires the service from a Config (database and migrations, secrets,
 * signing keys, clients, the provider, the login methods, our pages and the koa app). Nothing else
 * constructs stores, mailers, brokers or sweepers; each module gets the few things it needs. Used by
 * main.ts and by the black-box tests, so both run the same wiring. Rules: start-up fails with a clear
 * message on a bad clients file or config; a running instance re-reads the signing keys periodically so
 * rotation needs no restart; a graceful shutdown drains, lets in-flight requests finish, and only then
 * stops the sweepers and closes the pool.
 */
import type http from 'node:http';
import path from 'node:path';
import type Koa from 'koa';
import Provider from 'oidc-provider';
import { createRequestScope } from '../http/request-scope.js';
import { createRequestMemo } from '../store/request-memo.js';
import { createClientCache } from '../store/client-cache.js';
import { authenticatingRequest } from '../provider/client-authentication.js';
import type { Configuration } from 'oidc-provider';
import type { Config } from '../config/index.js';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { appRoot } from '../app-root.js';
import type { Database } from '../store/db.js';
import type { ResolvedSecrets } from '../store/secrets.js';
import type { AuditLog } from '../store/audit.js';
import { createAccountRepository } from '../store/accounts.js';
import { createFederatedAccountRepository } from '../store/federated-accounts.js';
import { createSessionEndings } from '../store/session-expiry.js';
import { createRateLimits } from '../store/rate-limits.js';
import type { ClientMetadata } from '../provider/clients-file.js';
import { maxSignedTokenSeconds } from '../provider/create-provider.js';
import { createRenderer } from '../views/renderer.js';
import { createGracefulServer, type GracefulServer } from '../http/graceful-server.js';
import { createServiceMetrics, knexPoolGauges } from '../observability/metrics-service.js';
import { createAdmin } from '../admin/index.js';
import { sendBackchannelLogouts } from '../provider/session-policy.js';
import type { ClaimedSession } from '../store/session-expiry.js';
import { openFoundation } from './foundation.js';
import { importValidatedClients, loadClients } from './clients.js';
import { wireOutbound } from './outbound.js';
import { startProvider } from './provider.js';
import { wireLocalAccounts } from './local-accounts.js';
import { openLoginMethods, wireUpstreams } from './upstreams.js';
import { createWebApp } from './web.js';
import { startBackground, type Timer } from './background.js';

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
  /** The audit trail this instance writes (settled() waits for events still being stored). */
  audit: AuditLog;
  secrets: ResolvedSecrets;
  clients: ClientMetadata[];
  provider(): Provider;
  /** Attempts every due back-channel logout in the outbox now (the timer does it every few seconds). */
  deliverBackchannelLogouts(): Promise<number>;
  /** Re-reads the signing keys and swaps in a provider with the new key order when it changed. */
  reloadKeys(): Promise<boolean>;
  /** `metricsUrl`: the METRICS_PORT listener, when there is one. */
  listen(): Promise<{ server: http.Server; url: string; metricsUrl?: string | undefined }>;
  /** SIGTERM: /readyz 503 and drain, stop accepting, in-flight requests finish, then sweepers and pool stop. */
  shutdown(): Promise<void>;
  /** Stops at once (tests, failed start-up): open connections are cut. */
  close(): Promise<void>;
}

export async function createService(options: ServiceOptions): Promise<Service> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const { db, ownsDb, secrets, kek, audit } = await openFoundation(config, logger, clock, options.db);
  const clients = await loadClients(config, db, clock, kek, logger);

  // Metrics: one registry per instance (off without METRICS_PORT and METRICS_TOKEN); modules get their counters.
  const observed = createServiceMetrics(config.metrics, knexPoolGauges(db.knex));
  const { metrics } = observed;
  const methods = await openLoginMethods(config, db, clock, metrics);
  const renderer = createRenderer(path.join(appRoot(), 'views'));
  const accounts = createAccountRepository(db, clock);
  const localAccounts = await wireLocalAccounts({ config, db, clock, logger, renderer, accounts, audit, metrics });
  const federated = createFederatedAccountRepository(db, clock);
  const { backchannel, providerFetch } = wireOutbound(config, db, clock, logger, metrics.backchannel);
  const sessionEndings = createSessionEndings(db, clock, config.sessions);
  // The provider's client lookups are served from memory, confirmed where a client authenticates (client-cache.ts).
  const clientCache = createClientCache({ db, store: clients.store, confirmFor: authenticatingRequest });
  // What one request has read is remembered for the rest of it (issue 13): oidc-provider's Provider.ctx
  // inside its routes, our own request scope on our pages (the same koa ctx).
  const requestScope = createRequestScope();
  const requestMemo = createRequestMemo(() => Provider.ctx ?? requestScope.current());

  const provider = await startProvider({
    config, db, clock, kek, logger, audit, metrics, secrets, renderer, accounts, sessionEndings, methods,
    clientStore: clientCache,
    requestMemo,
    builtInClients: clients.builtInClients,
    fetch: providerFetch as Configuration['fetch'],
  });
  await importValidatedClients(provider.current(), clients, config.clientsFile, logger);
  const admin = createAdmin({
    settings: {
      issuer: config.issuer,
      bodyLimitBytes: config.bodyLimitBytes,
      retryAfterSeconds: config.availability.retryAfterSeconds,
      secretGraceSeconds: config.admin.secretGraceSeconds,
      requestsPerMinute: config.admin.requestsPerMinute,
      keys: {
        keyEncryptionKey: config.operations.keyEncryptionKey,
        publishSeconds: config.keys.publishSeconds,
        refreshSeconds: config.keys.refreshSeconds,
        verifySeconds: maxSignedTokenSeconds(config.ttl),
      },
    },
    db,
    clock,
    store: clients.store,
    rateLimits: createRateLimits(db, clock),
    accounts,
    audit,
    getProvider: provider.current,
    // Admin actions end sessions in the store; the provider tells their relying parties (back-channel logout).
    backchannelLogout: (session) => sendBackchannelLogouts(provider.current(), session as unknown as ClaimedSession),
  });
  const upstreams = await wireUpstreams({ config, db, clock, logger, metrics, federated, audit, renderer, methods });

  const readiness = { draining: false };
  const app = createWebApp({
    config, db, clock, logger, audit, metrics, renderer, secrets, accounts, clients, readiness, methods,
    appMetrics: observed.app,
    getProvider: provider.current,
    passwordLogin: localAccounts,
    methodRoutes: [...upstreams.routes, localAccounts.routes],
    adminRouter: admin.router,
    pageRouters: [...upstreams.pageRouters, ...localAccounts.pageRouters],
    upstreamMiddleware: upstreams.middleware,
    requestScope,
  });

  const timers: Timer[] = [];
  let web: GracefulServer | undefined;
  let clientWatch: { stop(): Promise<void> } | undefined;
  const stopBackground = async () => {
    for (const t of timers) t.stop();
    await clientWatch?.stop();
    await observed.close();
    localAccounts.close();
    await audit.settled();
    if (ownsDb) {
      await db.close();
      logger.info('database pool closed');
    }
  };
  return {
    app,
    db,
    audit,
    secrets,
    clients: clients.clients,
    provider: provider.current,
    deliverBackchannelLogouts: () => backchannel.deliverDue(),
    reloadKeys: provider.reloadKeys,
    async listen() {
      web = createGracefulServer(app.callback(), logger, readiness);
      const { port } = await web.listen(config.port, config.host);
      clientWatch = clientCache.start(logger);
      timers.push(...startBackground({
        config, db, clock, logger, audit, sessionEndings,
        getProvider: provider.current,
        reloadKeys: provider.reloadKeys,
        start: [
          () => backchannel.start(),
          () => localAccounts.startSweeper((err) => logger.warn({ err }, 'local account sweep failed')),
          () => upstreams.startSweepers(),
        ],
      }));
      const metricsPort = await observed.listen(config.host);
      const origin = (p: number) => `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${p}`;
      return { server: web.server, url: origin(port), metricsUrl: metricsPort === undefined ? undefined : origin(metricsPort) };
    },
    async shutdown() {
      if (web) await web.drainAndClose(config.operations.shutdownDrainSeconds, config.operations.shutdownGraceSeconds);
      await stopBackground();
    },
    async close() {
      if (web) await web.closeNow();
      await stopBackground();
    },
  };
}
