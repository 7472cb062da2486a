/**
 * Our pages and the koa app around the provider: the interaction pages (with every login method's
 * routes), the playground when it is on, and the app shell. Rules: every form's CSRF token is keyed by
 * the first cookie key; an expired login can be started again for INTERACTION_RESTART_TTL_SECONDS;
 * POST to /auth and /session/end is on only where the session cookie can be Secure (post-methods.ts),
 * and start-up says why when it is off; the playground is a relying party beside the provider and
 * reaches it over HTTP at the issuer URL.
 */
import path from 'node:path';
import type Koa from 'koa';
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from '../config/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import type { AuditLog } from '../store/audit.js';
import type { AccountRepository } from '../store/accounts.js';
import type { ResolvedSecrets } from '../store/secrets.js';
import type { Metrics } from '../observability/metrics.js';
import type { ServiceMetrics } from '../observability/metrics-service.js';
import type { Renderer } from '../views/renderer.js';
import type { InteractionRoutes } from '../interactions/interaction-context.js';
import type { LoginThrottle } from '../interactions/login-throttle.js';
import type { DeviceCookies } from '../interactions/device-cookie.js';
import type { ClientSetup } from './clients.js';
import { appRoot } from '../app-root.js';
import { createAdapterClass } from '../store/oidc-adapter.js';
import { createCsrf } from '../interactions/csrf.js';
import { createRestartStore } from '../interactions/restart.js';
import { createInteractionRouter } from '../interactions/router.js';
import type { RequestScope } from '../http/request-scope.js';
import type { MethodRegistry } from '../brokers/registry.js';
import { postMethodSupport } from '../provider/post-methods.js';
import { createPlaygroundRouter } from '../playground/router.js';
import { createApp } from '../http/app.js';

export function createWebApp(deps: {
  config: Config;
  db: Database;
  clock: Clock;
  logger: Logger;
  audit: AuditLog;
  metrics: Metrics;
  appMetrics: ServiceMetrics['app'];
  renderer: Renderer;
  secrets: ResolvedSecrets;
  accounts: AccountRepository;
  clients: ClientSetup;
  /** The login methods (src/brokers/registry.ts), handed to every interaction page. */
  methods: MethodRegistry;
  getProvider: () => Provider;
  /** The password login's throttle and device cookies (built with the local accounts). */
  passwordLogin: { loginThrottle: LoginThrottle; deviceCookies: DeviceCookies };
  /** Every login method's routes under /interaction/:uid, in order. */
  methodRoutes: InteractionRoutes[];
  /** The admin API, mounted before our pages. */
  adminRouter: Router;
  /** Pages outside the interaction (broker callbacks, the development outbox), mounted in order after it. */
  pageRouters: Router[];
  upstreamMiddleware: Middleware[];
  readiness: { draining: boolean };
  /** Makes the request being served known to code that is not handed its ctx (src/http/request-scope.ts). */
  requestScope: RequestScope;
}): Koa {
  const { config, db, clock, logger, renderer } = deps;
  const csrf = createCsrf(deps.secrets.cookieKeys[0]!);
  const restart = createRestartStore({
    adapter: new (createAdapterClass(db, clock))('InteractionRestart'),
    issuer: config.issuer,
    ttlSeconds: config.ttl.interactionRestartSeconds,
    secret: deps.secrets.cookieKeys[0]!,
    clock,
  });
  const interactions = createInteractionRouter({
    getProvider: deps.getProvider,
    renderer,
    csrf,
    restart,
    bodyLimitBytes: config.bodyLimitBytes,
    loginThrottle: deps.passwordLogin.loginThrottle,
    deviceCookies: deps.passwordLogin.deviceCookies,
    accounts: deps.accounts,
    audit: deps.audit,
    logger,
    count: { login: deps.metrics.login, refusal: deps.metrics.refusal },
    methods: deps.methods,
  }, deps.methodRoutes);
  const post = postMethodSupport(config.issuer);
  if (!post.enabled) logger.warn({ issuer: config.issuer }, `HTTP POST to /auth and /session/end is off: ${post.reason}`);
  const { playgroundKeys } = deps.clients;
  const playgroundRouters = playgroundKeys
    ? [
        createPlaygroundRouter({
          issuer: config.issuer,
          production: config.nodeEnv === 'production',
          renderer,
          csrf,
          storage: new (createAdapterClass(db, clock))('PlaygroundSession'),
          keys: playgroundKeys,
          builtInClients: deps.clients.builtInClients,
          registeredClients: async () => (await deps.clients.store.list()).map((c) => c.metadata),
          bodyLimitBytes: config.bodyLimitBytes,
          sessions: config.sessions,
          logger,
        }),
      ]
    : [];
  const root = appRoot();
  return createApp({
    requestScope: deps.requestScope,
    loopbackHttpIssuer: post.loopbackHttp,
    readiness: deps.readiness,
    logger,
    db,
    renderer,
    issuer: config.issuer,
    trustedProxies: config.deployment.trustedProxies,
    cookieKeys: deps.secrets.cookieKeys,
    publicDir: path.join(root, 'public'),
    getProvider: deps.getProvider,
    pageRouters: [deps.adminRouter, interactions, ...deps.pageRouters, ...playgroundRouters],
    upstreamMiddleware: deps.upstreamMiddleware,
    availability: config.availability,
    metrics: deps.appMetrics,
  });
}
