/**
 * A mock of ID-porten (Digdir's national login): a real OpenID Provider of its own, its own koa app, for
 * our ID-porten broker to log in against in development and tests (DESIGN §4). It speaks ID-porten's
 * protocol (provider.ts), and its login page lets a tester choose the person, the eID and so the level,
 * or an outcome (pages.ts), including a misbehaving answer (misbehaviour.ts; also armed by
 * `POST <base>/control/misbehave`). It imports nothing of the product: it is the outside world.
 * Rules: its keys and all its state live in its memory (one mock, one upstream); time is the `now` it
 * is given; the issuer's path is where it is served: `createIdportenMock` gives the app and a middleware
 * that mounts it there in a host app (our service under /mock/idporten), `startIdportenMock` serves it
 * at the root of a port of its own, as the real ID-porten is.
 */
import type Koa from 'koa';
import type { Middleware } from 'koa';
import { koaBody } from 'koa-body';
import { createMockCsrf } from '../shared/csrf.js';
import { silentLogger, type MockDeps } from '../shared/deps.js';
import { basePathOf, mountUnder } from '../shared/mount.js';
import { createMockPages, stylesheet } from '../shared/pages.js';
import { serveStandalone, type RunningMock, type StandaloneOptions } from '../shared/standalone.js';
import { registeredSecretMethod } from './client-auth.js';
import { drawMockKeys } from './keys.js';
import { MOCK_MESSAGES } from './messages.js';
import { controlRoute, createMisbehaviours, installMisbehaviours } from './misbehaviour.js';
import { createTesterPages } from './pages.js';
import { clientMetadata, createMockProvider, ROUTES, type MockClient } from './provider.js';

export type { MockClient } from './provider.js';
export { SYNTHETIC_PERSONS, EIDS } from './persons.js';

export interface IdportenMockOptions extends MockDeps {
  /** The mock's issuer, e.g. `http://localhost:3000/mock/idporten`; its path is where it is served. */
  issuer: string;
  /** The relying parties registered with this ID-porten. */
  clients: MockClient[];
  /** Trust X-Forwarded-* for the endpoint URLs in discovery (mounted behind a host that checked them); default false. */
  trustProxy?: boolean;
}

export interface IdportenMock {
  issuer: string;
  /** The mock's own koa application (the oidc-provider instance with the tester's pages in front). */
  app: Koa;
  /** Runs `app` for the requests under the issuer's path and passes the others on: for a host app. */
  middleware: Middleware;
}

export async function createIdportenMock(options: IdportenMockOptions): Promise<IdportenMock> {
  const issuer = options.issuer.replace(/\/+$/, '');
  const basePath = basePathOf(issuer);
  const now = options.now ?? Date.now;
  const logger = options.logger ?? silentLogger;
  const keys = drawMockKeys();
  const view = createMockPages('idporten', MOCK_MESSAGES, 'nb');
  const provider = createMockProvider({ issuer, basePath, now, logger, keys, clients: options.clients, view, trustProxy: options.trustProxy ?? false });
  // Fail at start-up on a client the provider would refuse later, one request at a time.
  for (const client of options.clients) {
    try {
      await provider.Client.validate(clientMetadata(client) as Parameters<typeof provider.Client.validate>[0]);
    } catch (err) {
      const e = err as { error_description?: string; message?: string };
      throw new Error(`ID-porten mock client ${client.client_id}: ${e.error_description ?? e.message}`, { cause: err });
    }
  }

  const misbehaviours = createMisbehaviours(now);
  const parseControlBody = koaBody({ urlencoded: true, json: true, text: false, multipart: false, formLimit: '4kb', jsonLimit: '4kb' }) as Middleware;
  const pages = createTesterPages({ provider, basePath, csrf: createMockCsrf(), view, logger, misbehaviours });
  // In front of the provider (provider.use), in this order: files and routes of the mock's own, then the
  // client-authentication rule, then the id_token spoiler around the token endpoint.
  provider.use(stylesheet());
  provider.use(controlRoute(misbehaviours, parseControlBody));
  provider.use(pages.routes());
  provider.use(pages.allowedMethods());
  provider.use(registeredSecretMethod(provider, [ROUTES.token, ROUTES.revocation, ROUTES.pushed_authorization_request], logger));
  installMisbehaviours(provider, misbehaviours, keys.signingJwk, logger);
  return { issuer, app: provider, middleware: mountUnder(basePath, provider) };
}

export interface RunningIdportenMock extends RunningMock {
  /** The issuer: the server's URL, as ID-porten's issuer is its host. */
  issuer: string;
}

/** The mock on a port of its own (default: a free one on 127.0.0.1), for tests, as a real upstream is. */
export async function startIdportenMock(options: Omit<IdportenMockOptions, 'issuer' | 'trustProxy'> & StandaloneOptions): Promise<RunningIdportenMock> {
  const running = await serveStandalone(options, async (url) => (await createIdportenMock({ ...options, issuer: url })).app);
  return { ...running, issuer: running.url };
}
