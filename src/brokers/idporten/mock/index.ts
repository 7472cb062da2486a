/**
 * A mock of ID-porten (Digdir's national login): a real OpenID Provider of its own, served under a path
 * prefix of our app (`/mock/idporten` by default), for our ID-porten broker to log in against in
 * development and tests (DESIGN §4). It speaks ID-porten's protocol (provider.ts), and its login page
 * lets a tester choose the person, the eID and so the level, or an outcome (pages.ts), including a
 * misbehaving answer (misbehaviour.ts; also armed by `POST <prefix>/control/misbehave`).
 * Rules: secrets and signing key come from the store, so every instance on the database agrees
 * (secrets.ts); requests outside the prefix pass straight through to `next`.
 */
import type { Middleware } from 'koa';
import compose from 'koa-compose';
import type { Clock } from '../../../clock.js';
import type { Database } from '../../../store/db.js';
import type { Logger } from '../../../logger.js';
import { createCsrf } from '../../../interactions/csrf.js';
import { loadMockSecrets } from './secrets.js';
import { clientMetadata, createMockProvider, type MockClient } from './provider.js';
import { createTesterPages } from './pages.js';
import { createMockView } from './view.js';
import { isUnderPrefix, mountHandler } from './mount.js';
import { controlHandler, createMisbehaviours, installMisbehaviours } from './misbehaviour.js';
import { koaBody } from 'koa-body';

export type { MockClient } from './provider.js';
export { SYNTHETIC_PERSONS, EIDS } from './persons.js';

export interface IdportenMockOptions {
  /** The mock's issuer, e.g. `http://localhost:3000/mock/idporten`; its path is where it is served. */
  issuer: string;
  db: Database;
  clock: Clock;
  logger: Logger;
  clients: MockClient[];
  /** Trust X-Forwarded-* for the endpoint URLs in discovery (behind a proxy); default false. */
  trustProxy?: boolean;
}

export interface IdportenMock {
  issuer: string;
  middleware: Middleware;
}

export async function createIdportenMock(options: IdportenMockOptions): Promise<IdportenMock> {
  const issuer = options.issuer.replace(/\/+$/, '');
  const prefixPath = new URL(issuer).pathname.replace(/\/+$/, '');
  // At the root it would answer every request of the app it is mounted in.
  if (!prefixPath) throw new Error(`the ID-porten mock's issuer needs a path, e.g. ${issuer}/mock/idporten`);
  const secrets = await loadMockSecrets(options.db, options.clock);
  const view = createMockView();
  const provider = createMockProvider({
    issuer,
    prefixPath,
    db: options.db,
    clock: options.clock,
    logger: options.logger,
    secrets,
    clients: options.clients,
    view,
    trustProxy: options.trustProxy ?? false,
  });
  // Fail at start-up on a client the provider would refuse later, one request at a time.
  for (const client of options.clients) {
    try {
      await provider.Client.validate(clientMetadata(client) as Parameters<typeof provider.Client.validate>[0]);
    } catch (err) {
      const e = err as { error_description?: string; message?: string };
      throw new Error(`ID-porten mock client ${client.client_id}: ${e.error_description ?? e.message}`, { cause: err });
    }
  }

  const misbehaviours = createMisbehaviours(options.db, options.clock);
  installMisbehaviours(provider, misbehaviours, secrets.signingJwk, options.logger);
  const control = controlHandler(misbehaviours, koaBody({ urlencoded: true, json: true, text: false, multipart: false, formLimit: '4kb', jsonLimit: '4kb' }) as Middleware);
  const pages = createTesterPages({ provider, prefixPath, csrf: createCsrf(secrets.csrfSecret), view, logger: options.logger, misbehaviours });
  const pageRoutes = compose([pages.routes(), pages.allowedMethods()]) as Middleware;
  const runProvider = mountHandler(provider.callback(), prefixPath);

  const middleware: Middleware = async (ctx, next) => {
    if (!isUnderPrefix(ctx.path, prefixPath)) return next();
    if (ctx.path === `${prefixPath}/control/misbehave`) return control(ctx);
    // A path of one of the tester's routes (any method, so a wrong one gets 405) is ours; the rest is the provider's.
    if (pages.match(ctx.path, ctx.method).path.some((layer) => layer.methods.length > 0)) return pageRoutes(ctx, next);
    return runProvider(ctx);
  };
  return { issuer, middleware };
}
