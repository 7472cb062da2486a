/**
 * Wires the login methods' upstreams (DESIGN §4): opens the registry of configured methods, mounts the
 * built-in mocks for the upstreams a config leaves unset (development), and builds the generic broker
 * flows (redirect and decoupled) that run any registered method, with the sweeper that cancels decoupled
 * orders left behind. The rest of the composition root sees only the registry, routes, page routers,
 * mock middleware and sweepers: no method by name.
 */
import crypto from 'node:crypto';
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
import { mockStandIns, openMethods, type MethodRegistry } from '../brokers/registry.js';
import { callbackUrlFor, type UpstreamClient } from '../brokers/method.js';
import { brokerCallbackRouter, brokerRoutes } from '../interactions/broker-login.js';
import { decoupledRoutes } from '../interactions/decoupled-login.js';
import { createDecoupledFlow, startOrderSweeper } from '../interactions/decoupled-flow.js';
import { createUpstreamLogins } from '../interactions/upstream-login.js';
import { createIdportenMock } from '../../mocks/idporten/index.js';
import { createBankidMock } from '../../mocks/bankid-se/index.js';

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

/** The login methods (src/brokers/registry.ts): every configured method, opened once, read by everything after. */
export function openLoginMethods(config: Config, db: Database, clock: Clock, metrics: Metrics): Promise<MethodRegistry> {
  return openMethods(config.brokers, {
    clock,
    callbackUrl: (id) => callbackUrlFor(config.issuer, id),
    observe: (kind, call, seconds, ok) => metrics.upstream(kind, call, seconds, ok),
    storedSecret: (name) => getOrCreateSecret(db, clock, name, () => crypto.randomBytes(32).toString('base64url')),
  });
}

/** The built-in mocks (development): each stands in for an upstream the config leaves unset. */
async function mountMocks(methods: MethodRegistry, standIns: ReturnType<typeof mockStandIns>, deps: { clock: Clock; logger: Logger }): Promise<Middleware[]> {
  const middleware: Middleware[] = [];
  const now = () => deps.clock.now();
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
      middleware.push((await createIdportenMock({ issuer: standIn.url, now, logger: deps.logger, trustProxy: true, clients })).middleware);
    } else {
      // Mounted in our app: X-Forwarded-For is already the validated client address.
      middleware.push(createBankidMock({ basePath: new URL(standIn.url).pathname, publicUrl: standIn.url, now, logger: deps.logger, trustProxy: true }).middleware);
    }
  }
  return middleware;
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
  methods: MethodRegistry;
}): Promise<Upstreams> {
  const { config, db, clock, logger, metrics, federated, audit, renderer, methods } = deps;
  const loginCount = { login: metrics.login, refusal: metrics.refusal };
  // The upstreams a config leaves unset are the built-in mocks when mocks are on (DESIGN §4).
  const upstreamMiddleware = await mountMocks(methods, mockStandIns(config.brokers), { clock, logger });
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
  return {
    routes: [brokerRoutes(brokerDeps), ...(decoupled ? [decoupledRoutes({ methods, flow: decoupled })] : [])],
    pageRouters: [brokerCallbackRouter(brokerDeps)],
    middleware: upstreamMiddleware,
    startSweepers: () =>
      // Decoupled orders left behind (interaction expired or finished elsewhere) are cancelled upstream.
      decoupled ? [startOrderSweeper(decoupled, config.sweepIntervalSeconds, (err) => logger.warn({ err }, 'decoupled order sweep failed'))] : [],
  };
}
