/**
 * A mock of Swedish BankID's RP API v6.0 and of the BankID app, served under a path prefix of our app
 * (`/mock/bankid` by default) for our BankID broker to work against in development and tests
 * (shared/reference/BANKID-SE.md, "What a faithful mock does"). Routes under the prefix:
 * - `/rp/v6.0/{auth,sign,phone/auth,phone/sign,collect,cancel}`: the API (api.ts);
 * - `/control/inject`: failures a test asks for (api.ts);
 * - `/app`, `/app/<appId>`: the simulated app a tester drives (pages.ts); the prefix itself leads there;
 * - anything else under the prefix is 404 notFound; requests outside it go on to `next`.
 * Rules: all state is in the database (store.ts), so instances on one database share orders; time is
 * the injected clock; the mock reads its own request bodies and needs no body parser in front of it.
 */
import type { Middleware } from 'koa';
import type { Clock } from '../../../clock.js';
import type { Database } from '../../../store/db.js';
import type { Logger } from '../../../logger.js';
import { createCsrf } from '../../../interactions/csrf.js';
import { API_PREFIX, createApi } from './api.js';
import { createAppService } from './app-service.js';
import { BankidApiError, sendError } from './errors.js';
import { createAppPages } from './pages.js';
import { loadBankidMockSecrets } from './secrets.js';
import { createOrderService } from './service.js';
import { createMockStore } from './store.js';
import { createMockView } from './view.js';

export { qrAuthCode, qrData } from './qr.js';
export { TEST_PERSONS, type TestPerson } from './persons.js';
export { TESTER_FAILURES, UNKNOWN_PENDING_HINT } from './app-service.js';
export type { CompletionData } from './orders.js';

export interface BankidMockOptions {
  /** Where the mock is served, e.g. `/mock/bankid`. */
  basePath: string;
  /** The same place as the outside world reaches it, e.g. `http://localhost:3000/mock/bankid`: for links on pages. */
  publicUrl: string;
  db: Database;
  clock: Clock;
  logger: Logger;
}

export interface BankidMock {
  middleware: Middleware;
}

export async function createBankidMock(options: BankidMockOptions): Promise<BankidMock> {
  const basePath = options.basePath.replace(/\/+$/, '');
  // At the root it would answer every request of the app it is mounted in.
  if (!basePath.startsWith('/')) throw new Error(`the BankID mock's basePath must be a path such as /mock/bankid, not "${options.basePath}"`);
  const publicUrl = options.publicUrl.replace(/\/+$/, '');
  const { clock, logger } = options;
  const secrets = await loadBankidMockSecrets(options.db, clock);
  const store = createMockStore(options.db, clock);
  const api = createApi({ service: createOrderService(store, clock), store, clock, logger });
  const pages = createAppPages({
    basePath,
    publicUrl,
    app: createAppService(store, clock, secrets.signingKey),
    csrf: createCsrf(secrets.csrfSecret),
    view: createMockView(),
    clock,
    logger,
  });

  const middleware: Middleware = async (ctx, next) => {
    if (ctx.path !== basePath && !ctx.path.startsWith(`${basePath}/`)) return next();
    const rest = ctx.path.slice(basePath.length);
    if (rest.startsWith(API_PREFIX)) return api.rp(ctx, rest);
    if (rest === '/control/inject') return api.inject(ctx);
    if (rest === '/app' || rest.startsWith('/app/')) return pages(ctx, rest);
    if ((rest === '' || rest === '/') && ctx.method === 'GET') return ctx.redirect(`${basePath}/app`);
    sendError(ctx, new BankidApiError('notFound', `No such endpoint: ${rest || '/'}`));
  };
  return { middleware };
}
