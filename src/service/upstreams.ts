/**
 * Wires the upstream eIDs: ID-porten (the configured OpenID provider, or the built-in mock when mocks
 * are on) and Swedish BankID (the configured RP API over mutual TLS, or the built-in mock), the broker
 * flows that run them, and the sweeper that cancels BankID orders left behind (DESIGN §4). The rest of
 * the composition root sees only routes, page routers, mock middleware and sweepers: no method by name.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Config } from '../config/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import type { AuditLog } from '../store/audit.js';
import type { FederatedAccountRepository } from '../store/federated-accounts.js';
import type { Metrics } from '../observability/metrics.js';
import type { Renderer } from '../views/renderer.js';
import type { InteractionRoutes } from '../interactions/interaction-context.js';
import { getOrCreateSecret } from '../store/secrets.js';
import { createAdapterClass } from '../store/oidc-adapter.js';
import { createDecoupledOrders } from '../store/decoupled-orders.js';
import { createIdportenBroker } from '../brokers/idporten/broker.js';
import { createIdportenMock } from '../../mocks/idporten/index.js';
import type { RedirectBroker } from '../brokers/types.js';
import { brokerCallbackRouter, brokerRoutes, callbackUrlFor } from '../interactions/broker-login.js';
import { createBankidBroker } from '../brokers/bankid-se/broker.js';
import { createBankidMock } from '../../mocks/bankid-se/index.js';
import { bankidRoutes, type BankidLoginDeps } from '../interactions/bankid-login.js';
import { createBankidOrders, startOrderSweeper, type BankidOrders } from '../interactions/bankid-orders.js';

export interface Upstreams {
  /** The broker flows under /interaction/:uid. */
  routes: InteractionRoutes[];
  /** Pages outside the interaction (the brokers' callbacks). */
  pageRouters: Router[];
  /** The mock upstreams, served by our app in development. */
  middleware: Middleware[];
  /** Starts the upstreams' background work (the sweep of orders left behind). */
  startSweepers(): Array<{ stop(): void }>;
}

/** The public half of a private JWK (for registering our broker with the mock). */
function publicJwkOf(privateJwkJson: string): Record<string, unknown> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = JSON.parse(privateJwkJson) as Record<string, unknown>;
  return publicJwk;
}

export async function wireUpstreams(deps: {
  config: Config;
  db: Database;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  federated: FederatedAccountRepository;
  audit: AuditLog;
  renderer: Renderer;
}): Promise<Upstreams> {
  const { config, db, clock, logger, metrics, federated, audit, renderer } = deps;
  const loginCount = { login: metrics.login, refusal: metrics.refusal };

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

  const orders = bankidOrders;
  return {
    routes: [brokerRoutes(brokerDeps), ...(bankidDeps ? [bankidRoutes(bankidDeps)] : [])],
    pageRouters: [brokerCallbackRouter(brokerDeps)],
    middleware: upstreamMiddleware,
    startSweepers: () =>
      // BankID orders left behind (interaction expired or finished elsewhere) are cancelled upstream.
      orders ? [startOrderSweeper(orders, config.sweepIntervalSeconds, (err) => logger.warn({ err }, 'BankID order sweep failed'))] : [],
  };
}
