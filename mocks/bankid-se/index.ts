/**
 * A mock of Swedish BankID's RP API v6.0 and of the BankID app, its own koa app, for our BankID broker to
 * work against in development and tests (shared/reference/BANKID-SE.md, "What a faithful mock does"). It
 * imports nothing of the product: it is the outside world. Routes, below the mock's base path:
 * - `/rp/v6.0/{auth,sign,phone/auth,phone/sign,collect,cancel}`: the API (api.ts);
 * - `/control/inject`: failures a test asks for (api.ts);
 * - `/app`, `/app/<appId>`: the simulated app a tester drives (pages.ts); the base path itself leads there;
 * - anything else is 404 notFound.
 * Rules: all state is in the mock's memory (store.ts), aged by the `now` it is given; it reads its own
 * request bodies. `createBankidMock` gives the app and a middleware that mounts it at its base path in a
 * host app (our service under /mock/bankid); `startBankidMock` serves it on a port of its own.
 */
import crypto from 'node:crypto';
import Koa, { type Middleware } from 'koa';
import { createMockCsrf } from '../shared/csrf.js';
import { silentLogger, type MockDeps } from '../shared/deps.js';
import { basePathOf, mountUnder } from '../shared/mount.js';
import { createMockPages, stylesheet } from '../shared/pages.js';
import { serveStandalone, type RunningMock, type StandaloneOptions } from '../shared/standalone.js';
import { API_PREFIX, createApi } from './api.js';
import { createAppService } from './app-service.js';
import { BankidApiError, sendError } from './errors.js';
import { MOCK_MESSAGES } from './messages.js';
import { createAppPages } from './pages.js';
import { createOrderService } from './service.js';
import { createMockStore } from './store.js';

export { qrAuthCode, qrData } from './qr.js';
export { TEST_PERSONS, type TestPerson } from './persons.js';
export { TESTER_FAILURES, UNKNOWN_PENDING_HINT } from './app-service.js';
export type { CompletionData } from './orders.js';

export interface BankidMockOptions extends MockDeps {
  /** Where the mock is served in a host app, e.g. `/mock/bankid`; '' at the root of its own server. */
  basePath: string;
  /** The same place as the outside world reaches it, e.g. `http://localhost:3000/mock/bankid`: for links on pages. */
  publicUrl: string;
  /** Trust X-Forwarded-For for the device address (mounted behind a host that checked it); default false. */
  trustProxy?: boolean;
}

export interface BankidMock {
  app: Koa;
  /** Runs `app` for the requests under the base path and passes the others on: for a host app. */
  middleware: Middleware;
}

export function createBankidMock(options: BankidMockOptions): BankidMock {
  const basePath = basePathOf(options.basePath);
  const publicUrl = options.publicUrl.replace(/\/+$/, '');
  const now = options.now ?? Date.now;
  const logger = options.logger ?? silentLogger;
  const store = createMockStore(now);
  const api = createApi({ service: createOrderService(store, now), store, logger });
  const pages = createAppPages({
    basePath,
    publicUrl,
    // The key the mock "signs" completed orders with.
    app: createAppService(store, now, crypto.randomBytes(32).toString('base64url')),
    csrf: createMockCsrf(),
    view: createMockPages('bankid', MOCK_MESSAGES, 'sv'),
    now,
    logger,
  });

  const app = new Koa({ proxy: options.trustProxy ?? false });
  app.on('error', (err: Error) => logger.warn({ err }, 'bankid mock error'));
  app.use(stylesheet());
  app.use(async (ctx) => {
    const rest = ctx.path;
    if (rest.startsWith(API_PREFIX)) return api.rp(ctx, rest);
    if (rest === '/control/inject') return api.inject(ctx);
    if (rest === '/app' || rest.startsWith('/app/')) return pages(ctx, rest);
    if (rest === '/' && ctx.method === 'GET') return ctx.redirect(`${basePath}/app`);
    sendError(ctx, new BankidApiError('notFound', `No such endpoint: ${rest}`));
  });
  return { app, middleware: mountUnder(basePath, app) };
}

export interface RunningBankidMock extends RunningMock {
  /** The RP API's base URL, for BANKID_BASE_URL: `<url>/rp/v6.0`. */
  rpApiUrl: string;
}

/** The mock on a port of its own (default: a free one on 127.0.0.1), for tests, as a real upstream is. */
export async function startBankidMock(options: MockDeps & StandaloneOptions = {}): Promise<RunningBankidMock> {
  const running = await serveStandalone(options, async (url) => createBankidMock({ ...options, basePath: '', publicUrl: url }).app);
  return { ...running, rpApiUrl: `${running.url}${API_PREFIX.replace(/\/$/, '')}` };
}
