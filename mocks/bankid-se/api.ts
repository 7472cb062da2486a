/**
 * The RP API v6.0 over HTTP, and the control endpoint that injects failures. Rules:
 * - `/rp/v6.0/{auth,sign,phone/auth,phone/sign,collect,cancel}`; any other path is 404 notFound, any
 *   method but POST 405 methodNotAllowed;
 * - an injected failure answers the next API calls to known endpoints (POST), before the body is read;
 * - then the body must be a JSON object (json-body.ts), checked by validate.ts;
 * - `POST /control/inject` `{ errorCode, times? }` (times 1 by default, 0 clears) sets the failures;
 * - every answer is JSON; an error is `{ errorCode, details }` with its status (errors.ts), and an
 *   unexpected one is logged and answered as internalError.
 */
import type { Context } from 'koa';
import type { MockLogger } from '../shared/deps.js';
import { BankidApiError, INJECTED_DETAILS, invalidParameters, sendError, sendJson } from './errors.js';
import { readJsonObject } from './json-body.js';
import { INJECTABLE_ERRORS, type InjectableError, type MockStore } from './store.js';
import type { OrderService } from './service.js';
import { ORDER_ENDPOINTS, validateOrderRef, validateOrderRequest, type OrderEndpoint } from './validate.js';

export const API_PREFIX = '/rp/v6.0/';
const ENDPOINTS: readonly string[] = [...ORDER_ENDPOINTS, 'collect', 'cancel'];
const MAX_INJECTED = 1000;

export interface ApiDeps {
  service: OrderService;
  store: MockStore;
  logger: MockLogger;
}

export function createApi(deps: ApiDeps) {
  const { service, store, logger } = deps;

  async function answer(ctx: Context, run: () => Promise<object>): Promise<void> {
    try {
      sendJson(ctx, 200, await run());
    } catch (err) {
      if (err instanceof BankidApiError) {
        logger.debug({ errorCode: err.errorCode, path: ctx.path }, 'bankid mock refused a request');
        return sendError(ctx, err);
      }
      logger.error({ err, path: ctx.path }, 'bankid mock failed');
      sendError(ctx, new BankidApiError('internalError', 'Internal technical error'));
    }
  }

  async function dispatch(endpoint: string, body: Record<string, unknown>): Promise<object> {
    if (endpoint === 'collect') return service.collect(validateOrderRef(body));
    if (endpoint === 'cancel') {
      await service.cancel(validateOrderRef(body));
      return {};
    }
    return service.create(validateOrderRequest(endpoint as OrderEndpoint, body));
  }

  /** `rest` is the path after the mock's base path, starting with API_PREFIX. */
  async function rp(ctx: Context, rest: string): Promise<void> {
    const endpoint = rest.slice(API_PREFIX.length);
    await answer(ctx, async () => {
      if (!ENDPOINTS.includes(endpoint)) throw new BankidApiError('notFound', `No such endpoint: ${rest}`);
      if (ctx.method !== 'POST') throw new BankidApiError('methodNotAllowed', `${ctx.method} is not allowed; use POST`);
      const injected = store.takeInjection();
      if (injected) throw new BankidApiError(injected, INJECTED_DETAILS[injected] ?? injected);
      return dispatch(endpoint, await readJsonObject(ctx));
    });
  }

  async function inject(ctx: Context): Promise<void> {
    await answer(ctx, async () => {
      if (ctx.method !== 'POST') throw new BankidApiError('methodNotAllowed', `${ctx.method} is not allowed; use POST`);
      const body = await readJsonObject(ctx);
      const errorCode = body.errorCode;
      if (!(INJECTABLE_ERRORS as readonly unknown[]).includes(errorCode)) {
        throw invalidParameters(`errorCode must be one of ${INJECTABLE_ERRORS.join(', ')}`);
      }
      const times = body.times ?? 1;
      if (typeof times !== 'number' || !Number.isInteger(times) || times < 0 || times > MAX_INJECTED) {
        throw invalidParameters(`times must be a whole number from 0 to ${MAX_INJECTED}`);
      }
      store.setInjection({ errorCode: errorCode as InjectableError, remaining: times });
      logger.info({ errorCode, times }, 'bankid mock: failures injected');
      return { errorCode, times };
    });
  }

  return { rp, inject };
}
