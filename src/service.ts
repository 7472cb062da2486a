/**
 * Wires the service from a Config: database and migrations, secrets, signing keys, clients, the
 * provider, our pages and the koa app. Used by main.ts and by the black-box tests, so both run the
 * same wiring. Rules: start-up fails with a clear message on a bad clients file or config; a running
 * instance re-reads the signing keys periodically so rotation needs no restart; a graceful shutdown
 * drains, lets in-flight requests finish, and only then stops the sweepers and closes the pool.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import type http from 'node:http';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from './config.js';
import { systemClock, type Clock } from './clock.js';
import type { Logger } from './logger.js';
import { appRoot } from './app-root.js';
import { openDatabase, type Database } from './store/db.js';
import { migrateLatest } from './store/migrate.js';
import { resolveKeyEncryptionKey, resolveSecrets, type ResolvedSecrets } from './store/secrets.js';
import { ensureSigningKeys, listKeys, providerJwks } from './store/signing-keys.js';
import { createAccountRepository } from './store/accounts.js';
import { AUDIT_EVENTS, AUDIT_HASH_SECRET, createAuditLog, type AuditLog } from './store/audit.js';
import { auditProviderEvents } from './provider/audit-events.js';
import { createFederatedAccountRepository } from './store/federated-accounts.js';
import { getOrCreateSecret } from './store/secrets.js';
import { createIdportenMock } from './brokers/idporten/mock/index.js';
import { createBankidMock } from './brokers/bankid-se/mock/index.js';
import { knownMethodIds, mockStandIns, openMethods, type MethodRegistry } from './brokers/registry.js';
import { callbackUrlFor, type UpstreamClient } from './brokers/method.js';
import { brokerCallbackRouter, brokerRoutes } from './interactions/broker-login.js';
import { decoupledRoutes } from './interactions/decoupled-login.js';
import { createDecoupledFlow, startOrderSweeper } from './interactions/decoupled-flow.js';
import { createUpstreamLogins } from './interactions/upstream-login.js';
import { createDecoupledOrders } from './store/decoupled-orders.js';
import { createAdapterClass } from './store/oidc-adapter.js';
import { startSweeper } from './store/sweeper.js';
import { createSessionEndings } from './store/session-expiry.js';
import { startSessionSweeper } from './store/session-sweep.js';
import { sendBackchannelLogouts } from './provider/session-policy.js';
import { readClientsFile, ClientsFileError, type ClientMetadata } from './provider/clients-file.js';
import { createProvider, maxSignedTokenSeconds } from './provider/create-provider.js';
import { postMethodSupport } from './provider/post-methods.js';
import { parseOutboundAllowList } from './policies/outbound-hosts.js';
import { createBackchannelOutbox } from './store/backchannel-outbox.js';
import { createBackchannelDelivery } from './outbound/backchannel-delivery.js';
import { createProviderFetch } from './outbound/provider-fetch.js';
import { logProviderEvents } from './provider/log-events.js';
import { createRenderer } from './interactions/render.js';
import { createCsrf } from './interactions/csrf.js';
import { createRestartStore } from './interactions/restart.js';
import { createInteractionRouter } from './interactions/router.js';
import { createApp } from './http/app.js';
import { createGracefulServer, type GracefulServer } from './http/graceful-server.js';
import { createLocalAccounts } from './interactions/local-accounts/index.js';
import { createAuthAdmission } from './interactions/auth-admission.js';
import { createRateLimits } from './store/rate-limits.js';
import { newRequestKey, playgroundClients } from './playground/clients.js';
import { createPlaygroundRouter } from './playground/router.js';
import { createServiceMetrics, knexPoolGauges } from './observability/metrics-service.js';
import { countProviderEvents } from './observability/metrics-provider.js';
import { createAdmin, createClientStore, importClients, previousSecretGrace } from './admin/index.js';

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

/** The built-in mocks (development): each stands in for an upstream the config leaves unset. */
async function mountMocks(methods: MethodRegistry, standIns: ReturnType<typeof mockStandIns>, deps: { db: Database; clock: Clock; logger: Logger }) {
  const middleware = [];
  const clientOf = (c: UpstreamClient) => ({
    client_id: c.clientId,
    ...(c.clientSecret ? { client_secret: c.clientSecret } : {}),
    ...(c.jwks ? { jwks: c.jwks } : {}),
    redirect_uris: [c.redirectUri],
    token_endpoint_auth_method: c.authMethod,
  });
  for (const standIn of standIns) {
    if (standIn.mock === 'idporten') {
      // Every method whose upstream is this mock (ID-porten, configured OpenID upstreams) is a client of it.
      const clients = methods.methods.flatMap((m) => (m.capability === 'redirect' && m.upstreamClient?.issuer === standIn.url ? [clientOf(m.upstreamClient)] : []));
      // Mounted in our app: X-Forwarded-* are already the validated values (http/trusted-forwarding.ts).
      middleware.push((await createIdportenMock({ issuer: standIn.url, db: deps.db, clock: deps.clock, logger: deps.logger, trustProxy: true, clients })).middleware);
    } else {
      const mock = await createBankidMock({ basePath: new URL(standIn.url).pathname, publicUrl: standIn.url, db: deps.db, clock: deps.clock, logger: deps.logger });
      middleware.push(mock.middleware);
    }
  }
  return middleware;
}

export async function createService(options: ServiceOptions): Promise<Service> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const ownsDb = !options.db;
  const db =
    options.db ??
    openDatabase({
      databaseUrl: config.databaseUrl,
      sqliteFile: config.deployment.sqliteFile,
      acquireTimeoutMs: config.availability.dbAcquireTimeoutMs,
      statementTimeoutMs: config.availability.dbStatementTimeoutMs,
      logger,
    });
  const applied = await migrateLatest(db);
  if (applied.length) logger.info({ migrations: applied }, 'database migrated');

  const secrets = await resolveSecrets(db, clock, config.secrets);
  const { kek } = await resolveKeyEncryptionKey(db, clock, config.operations.keyEncryptionKey);
  const audit = createAuditLog(db, clock, { logger, hashKey: await getOrCreateSecret(db, clock, AUDIT_HASH_SECRET, () => crypto.randomBytes(32).toString('hex')) });
  const createdKeys = await ensureSigningKeys(db, clock, kek);
  if (createdKeys.encrypted.length) logger.info({ kids: createdKeys.encrypted }, 'plaintext signing keys encrypted at rest');
  if (createdKeys.created.length) logger.info({ kids: createdKeys.created }, 'signing keys generated');
  for (const kid of createdKeys.created) await audit.record({ event: AUDIT_EVENTS.keyCreated, outcome: 'success', actor: 'system', detail: { kid } });
  const clients = readClientsFile(config.clientsFile, { refuseExamples: config.nodeEnv === 'production', knownMethods: knownMethodIds(config.brokers) });
  // Clients live in the database; the file above is only imported into it (below, once validated).
  const clientStore = createClientStore(db, clock, kek);
  // The playground's built-in clients join the configured ones (its secret and key stay server-side).
  const playgroundKeys = config.playground.enabled
    ? {
        clientSecret: await getOrCreateSecret(db, clock, 'PLAYGROUND_CLIENT_SECRET', () => crypto.randomBytes(32).toString('base64url')),
        requestKey: JSON.parse(await getOrCreateSecret(db, clock, 'PLAYGROUND_REQUEST_KEY', newRequestKey)) as Record<string, string>,
      }
    : undefined;
  const builtInClients = playgroundKeys ? playgroundClients(config.issuer, playgroundKeys) : [];
  const providerClients: ClientMetadata[] = [...clients, ...builtInClients];
  if (playgroundKeys && config.nodeEnv === 'production') logger.warn('the integrator playground is enabled in production (PLAYGROUND_ENABLED=true)');

  // Metrics: one registry per instance (off without METRICS_PORT and METRICS_TOKEN); modules get their counters.
  const observed = createServiceMetrics(config.metrics, knexPoolGauges(db.knex));
  const { metrics } = observed;
  const loginCount = { login: metrics.login, refusal: metrics.refusal };
  // The login methods (src/brokers/registry.ts): every configured broker, opened once, read by everything below.
  const methods = await openMethods(config.brokers, {
    clock,
    callbackUrl: (id) => callbackUrlFor(config.issuer, id),
    observe: (kind, call, seconds, ok) => metrics.upstream(kind, call, seconds, ok),
    storedSecret: (name) => getOrCreateSecret(db, clock, name, () => crypto.randomBytes(32).toString('base64url')),
  });
  const root = appRoot();
  const renderer = createRenderer(path.join(root, 'views'));
  const accounts = createAccountRepository(db, clock);
  const localAccounts = await createLocalAccounts({ config, db, clock, logger, renderer, accounts, audit, metrics });
  const federated = createFederatedAccountRepository(db, clock);
  const verifySeconds = maxSignedTokenSeconds(config);
  // Outgoing requests to relying parties: SSRF-guarded, and back-channel logouts through a persistent outbox.
  // Our own issuer's origin is always allowed: the built-in playground is a relying party there.
  const allowList = parseOutboundAllowList(config.outbound.allowPrivateHosts, [new URL(config.issuer).origin]).list;
  if (allowList.entries.length) logger.info({ allowPrivateOutboundHosts: allowList.entries }, 'outgoing requests may reach these private hosts');
  const backchannel = createBackchannelDelivery({ outbox: createBackchannelOutbox(db, clock), allowList, settings: config.outbound.backchannel, clock, logger, count: metrics.backchannel });
  const providerFetch = createProviderFetch({ backchannel, allowList, logger });
  const admitInteraction = createAuthAdmission({
    rateLimits: createRateLimits(db, clock),
    perIpMinute: config.guessing.authNewInteractionsPerIpMinute,
    perClientMinute: config.guessing.authNewInteractionsPerClientMinute,
  });

  const build = async () => {
    const keys = await listKeys(db, kek);
    const jwks = providerJwks(keys, clock.now(), verifySeconds);
    const provider = createProvider({ config, db, clock, accounts, federated, renderer, secrets, clients: builtInClients, clientStore, jwks, methods, fetch: providerFetch as never, admitInteraction });
    logProviderEvents(provider, logger);
    countProviderEvents(provider, metrics);
    provider.use(previousSecretGrace(clientStore));
    auditProviderEvents(provider, audit);
    return { provider, order: jwks.keys.map((k) => k.kid).join(',') };
  };
  let current = await build();
  for (const client of providerClients) {
    try {
      await current.provider.Client.validate(client);
    } catch (err) {
      const e = err as { error_description?: string; message: string };
      throw new ClientsFileError(config.clientsFile, [`client ${client.client_id}: ${e.error_description ?? e.message}`]);
    }
  }
  await importClients(clientStore, clients, logger, config.clientsFile);
  const admin = createAdmin({ config, db, clock, store: clientStore, audit, getProvider: () => current.provider });

  // The upstreams a config leaves unset are the built-in mocks when mocks are on (DESIGN §4).
  const upstreamMiddleware = await mountMocks(methods, mockStandIns(config.brokers), { db, clock, logger });
  const logins = createUpstreamLogins({ federated, audit, count: loginCount });
  const brokerDeps = {
    issuer: config.issuer,
    methods,
    pending: new (createAdapterClass(db, clock))('BrokerLogin'),
    outcomes: new (createAdapterClass(db, clock))('BrokerOutcome'),
    ttlSeconds: config.ttl.interactionSeconds,
    logins,
    audit,
    logger,
    renderer,
  };
  const decoupled = methods.methods.some((m) => m.capability === 'decoupled')
    ? createDecoupledFlow({ methods, orders: createDecoupledOrders(db, clock), logins, logger, ttlSeconds: config.ttl.interactionSeconds, count: loginCount })
    : undefined;

  const csrf = createCsrf(secrets.cookieKeys[0]!);
  const restart = createRestartStore(new (createAdapterClass(db, clock))('InteractionRestart'), config.issuer);
  const interactions = createInteractionRouter({
    getProvider: () => current.provider,
    renderer,
    csrf,
    restart,
    bodyLimitBytes: config.bodyLimitBytes,
    loginThrottle: localAccounts.loginThrottle,
    deviceCookies: localAccounts.deviceCookies,
    accounts,
    audit,
    logger,
    count: loginCount,
    methods,
  }, [brokerRoutes(brokerDeps), ...(decoupled ? [decoupledRoutes({ methods, flow: decoupled })] : []), localAccounts.routes]);
  const post = postMethodSupport(config.issuer);
  if (!post.enabled) logger.warn({ issuer: config.issuer }, `HTTP POST to /auth and /session/end is off: ${post.reason}`);
  const readiness = { draining: false };
  // The playground is a relying party beside the provider: it reaches it over HTTP at the issuer URL.
  const playgroundRouters = playgroundKeys
    ? [
        createPlaygroundRouter({
          issuer: config.issuer,
          production: config.nodeEnv === 'production',
          renderer,
          csrf,
          storage: new (createAdapterClass(db, clock))('PlaygroundSession'),
          keys: playgroundKeys,
          builtInClients,
          configuredClients: clients,
          bodyLimitBytes: config.bodyLimitBytes,
          sessions: config.sessions,
          logger,
        }),
      ]
    : [];
  const app = createApp({
    loopbackHttpIssuer: post.loopbackHttp,
    readiness,
    logger,
    db,
    renderer,
    issuer: config.issuer,
    trustedProxies: config.deployment.trustedProxies,
    cookieKeys: secrets.cookieKeys,
    publicDir: path.join(root, 'public'),
    getProvider: () => current.provider,
    pageRouters: [admin.router, interactions, brokerCallbackRouter(brokerDeps), ...localAccounts.pageRouters, ...playgroundRouters],
    upstreamMiddleware,
    availability: config.availability,
    metrics: observed.app,
  });

  const reloadKeys = async () => {
    const next = await build();
    if (next.order === current.order) return false;
    current = next;
    logger.info({ kids: next.order }, 'signing keys reloaded');
    return true;
  };

  const timers: Array<{ stop(): void }> = [];
  let web: GracefulServer | undefined;
  const stopBackground = async () => {
    for (const t of timers) t.stop();
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
    clients,
    provider: () => current.provider,
    deliverBackchannelLogouts: () => backchannel.deliverDue(),
    reloadKeys,
    async listen() {
      web = createGracefulServer(app.callback(), logger, readiness);
      const { port } = await web.listen(config.port, config.host);
      const sweeper = startSweeper(db, clock, config.sweepIntervalSeconds, (err) => logger.warn({ err }, 'sweep failed'));
      const keyTimer = setInterval(() => {
        reloadKeys().catch((err: unknown) => logger.warn({ err }, 'key reload failed'));
      }, config.keys.refreshSeconds * 1000);
      keyTimer.unref();
      timers.push(sweeper, { stop: () => clearInterval(keyTimer) }, backchannel.start());
      timers.push(localAccounts.startSweeper((err) => logger.warn({ err }, 'local account sweep failed')));
      // Decoupled orders left behind (interaction expired or finished elsewhere) are cancelled upstream.
      if (decoupled) timers.push(startOrderSweeper(decoupled, config.sweepIntervalSeconds, (err) => logger.warn({ err }, 'decoupled order sweep failed')));
      // Sessions that ended by timeout: each is claimed by one instance, and its RPs get a back-channel logout.
      timers.push(startSessionSweeper({
        endings: createSessionEndings(db, clock, config.sessions),
        onEnded: async (session) => {
          if (session.payload.accountId) {
            logger.info({ accountId: session.payload.accountId, reason: session.reason }, 'session ended by timeout');
            await audit.record({ event: AUDIT_EVENTS.logoutTimeout, outcome: 'success', actor: 'system', accountId: session.payload.accountId, detail: { reason: session.reason } });
          }
          await sendBackchannelLogouts(current.provider, session);
        },
        onError: (err) => logger.warn({ err }, 'session sweep failed'),
      }, config.sessions.sweepIntervalSeconds));
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
