/**
 * Wires the service from a Config: database and migrations, secrets, signing keys, clients, the
 * provider, our pages and the koa app. Used by main.ts and by the black-box tests, so both run the
 * same wiring. Rules: start-up fails with a clear message on a bad clients file or config; a running
 * instance re-reads the signing keys periodically so rotation needs no restart; a graceful shutdown
 * drains, lets in-flight requests finish, and only then stops the sweepers and closes the pool.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
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
import { createIdportenBroker } from './brokers/idporten/broker.js';
import { createIdportenMock } from '../mocks/idporten/index.js';
import type { RedirectBroker } from './brokers/types.js';
import { brokerCallbackRouter, brokerRoutes, callbackUrlFor } from './interactions/broker-login.js';
import { createBankidBroker } from './brokers/bankid-se/broker.js';
import { createBankidMock } from '../mocks/bankid-se/index.js';
import { bankidRoutes, type BankidLoginDeps } from './interactions/bankid-login.js';
import { createBankidOrders, startOrderSweeper, type BankidOrders } from './interactions/bankid-orders.js';
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

/** The public half of a private JWK (for registering our broker with the mock). */
function publicJwkOf(privateJwkJson: string): Record<string, unknown> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = JSON.parse(privateJwkJson) as Record<string, unknown>;
  return publicJwk;
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
  const clients = readClientsFile(config.clientsFile, { refuseExamples: config.nodeEnv === 'production' });
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
    const provider = createProvider({ config, db, clock, accounts, federated, renderer, secrets, clients: builtInClients, clientStore, jwks, fetch: providerFetch as never, admitInteraction });
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

  // ID-porten: the configured upstream, or the built-in mock when mocks are on (DESIGN §4).
  const brokers = new Map<string, RedirectBroker>();
  const upstreamMiddleware = [];
  const idportenIssuer = config.idporten.issuer ?? (config.mocksEnabled ? `${config.issuer}/mock/idporten` : undefined);
  if (idportenIssuer) {
    const clientSecret =
      config.idporten.clientSecret ??
      (config.idporten.authMethod === 'private_key_jwt'
        ? undefined
        : await getOrCreateSecret(db, clock, 'IDPORTEN_CLIENT_SECRET', () => crypto.randomBytes(32).toString('base64url')));
    if (!config.idporten.issuer) {
      const mock = await createIdportenMock({
        issuer: idportenIssuer,
        now: () => clock.now(),
        logger,
        // Mounted in our app: X-Forwarded-* are already the validated values (http/trusted-forwarding.ts).
        trustProxy: true,
        clients: [
          {
            client_id: config.idporten.clientId,
            ...(clientSecret ? { client_secret: clientSecret } : {}),
            ...(config.idporten.privateKey ? { jwks: { keys: [publicJwkOf(config.idporten.privateKey)] } } : {}),
            redirect_uris: [callbackUrlFor(config.issuer, 'idporten')],
            token_endpoint_auth_method: config.idporten.authMethod,
          },
        ],
      });
      upstreamMiddleware.push(mock.middleware);
    }
    const observe = (call: string, seconds: number, ok: boolean) => metrics.upstream('idporten', call, seconds, ok);
    brokers.set('idporten', createIdportenBroker({ ...config.idporten, issuer: idportenIssuer, clientSecret, clock, observe }));
  }
  // Swedish BankID: the configured RP API (mutual TLS), or the built-in mock when mocks are on.
  let bankidDeps: BankidLoginDeps | undefined;
  let bankidOrders: BankidOrders | undefined;
  const bankidBaseUrl = config.bankid.baseUrl ?? (config.mocksEnabled ? `${config.issuer}/mock/bankid/rp/v6.0` : undefined);
  if (bankidBaseUrl) {
    const usesMock = !config.bankid.baseUrl;
    if (usesMock) {
      // Mounted in our app: X-Forwarded-For is already the validated client address.
      const mock = createBankidMock({ basePath: '/mock/bankid', publicUrl: `${config.issuer}/mock/bankid`, now: () => clock.now(), logger, trustProxy: true });
      upstreamMiddleware.push(mock.middleware);
    }
    const read = (file: string | undefined) => (file ? fs.readFileSync(file) : undefined);
    const broker = createBankidBroker({
      baseUrl: bankidBaseUrl,
      tls: config.bankid.pfxFile ? { pfx: read(config.bankid.pfxFile), passphrase: config.bankid.passphrase, ca: read(config.bankid.caFile) } : undefined,
      timeoutMs: config.bankid.timeoutMs,
      clock,
      observe: (call, seconds, ok) => metrics.upstream('bankid-se', call, seconds, ok),
    });
    bankidOrders = createBankidOrders({
      broker,
      orders: createDecoupledOrders(db, clock),
      clock,
      federated,
      audit,
      logger,
      leaseMs: config.bankid.timeoutMs,
      ttlSeconds: config.ttl.interactionSeconds,
      count: loginCount,
    });
    bankidDeps = {
      broker,
      orders: bankidOrders,
      logger,
      autoStartBase: usesMock ? `${config.issuer}/mock/bankid/app` : undefined,
      mockAppUrl: usesMock ? `${config.issuer}/mock/bankid/app` : undefined,
    };
  }
  const brokerDeps = {
    issuer: config.issuer,
    brokers,
    decoupledMethods: new Set(bankidDeps ? ['bankid-se'] : []),
    pending: new (createAdapterClass(db, clock))('BrokerLogin'),
    outcomes: new (createAdapterClass(db, clock))('BrokerOutcome'),
    ttlSeconds: config.ttl.interactionSeconds,
    federated,
    audit,
    logger,
    renderer,
    count: loginCount,
  };

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
  }, [brokerRoutes(brokerDeps), ...(bankidDeps ? [bankidRoutes(bankidDeps)] : []), localAccounts.routes]);
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
      // BankID orders left behind (interaction expired or finished elsewhere) are cancelled upstream.
      if (bankidOrders) timers.push(startOrderSweeper(bankidOrders, config.sweepIntervalSeconds, (err) => logger.warn({ err }, 'BankID order sweep failed')));
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
