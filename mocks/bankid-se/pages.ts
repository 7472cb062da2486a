/**
 * The simulated BankID app: pages at `<base>/app` a tester (or a browser test) drives. Rules:
 * - `GET /app` is the start page; with `?qr=<data>` or `?autostarttoken=<token>[&redirect=<url>]` it
 *   opens the order at once (what scanning or following the autostart link does) and redirects to the
 *   order's page `/app/<appId>`; `POST /app` opens by pasted QR data (`action=scan`) or, for a phone
 *   order, by personal number (`action=phone`);
 * - `POST /app/<appId>` takes the tester's step (`action`: identify with `person`, approve, cancel, a
 *   failure hint, or the unknown pending hint) and redirects back to the page (post/redirect/get);
 * - every POST is a small urlencoded form with a CSRF token (bound to the app page's id, or to the
 *   start page); a refusal is shown on the page with a message, never a stack trace;
 * - `redirect` is only kept when it is an http(s) URL, and only offered as a link once the order ends;
 * - paths arrive without the mock's base path; the URLs on the pages carry it.
 */
import { koaBody } from 'koa-body';
import type { Context } from 'koa';
import type { MockLogger, Now } from '../shared/deps.js';
import type { MockCsrf } from '../shared/csrf.js';
import type { MockPages } from '../shared/pages.js';
import { TESTER_FAILURES, UNKNOWN_PENDING_HINT, type AppService, type Opened, type Refusal } from './app-service.js';
import { MOCK_MESSAGES, type MockMessageId } from './messages.js';
import { appStep, observe, type Order } from './orders.js';
import { fullName, personFor, TEST_PERSONS } from './persons.js';

export interface AppPagesDeps {
  basePath: string;
  publicUrl: string;
  app: AppService;
  csrf: MockCsrf;
  view: MockPages;
  now: Now;
  logger: MockLogger;
}

class PageError extends Error {
  constructor(
    readonly status: number,
    readonly messageId: MockMessageId,
  ) {
    super(messageId);
  }
}

type Form = Record<string, string | undefined>;
const START_CSRF_BINDING = 'bankid-mock-app-start';
const APP_PATH = /^\/app\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

function httpUrlOrUndefined(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === 'null') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

function decodeVisible(data: string | undefined): string | undefined {
  return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
}

export function createAppPages(deps: AppPagesDeps) {
  const { basePath, publicUrl, app, csrf, view, now } = deps;
  const parseForm = koaBody({ urlencoded: true, json: false, text: false, multipart: false, formLimit: '16kb' });

  async function readForm(ctx: Context, bindTo: string): Promise<Form> {
    if (!ctx.is('application/x-www-form-urlencoded')) throw new PageError(400, 'badRequest');
    try {
      await parseForm(ctx, async () => undefined);
    } catch {
      throw new PageError(400, 'badRequest');
    }
    const form = (ctx.request.body ?? {}) as Form;
    if (!csrf.verify(bindTo, form._csrf)) throw new PageError(403, 'csrf');
    return form;
  }

  function showStart(ctx: Context, status = 200, error?: Refusal, form: Form = {}) {
    view.page(ctx, status, 'start.njk', {
      actionUrl: `${basePath}/app`,
      csrf: csrf.tokenFor(START_CSRF_BINDING),
      apiUrl: `${publicUrl}/rp/v6.0`,
      autostartUrl: `${publicUrl}/app?autostarttoken=`,
      qr: form.qr ?? '',
      personalNumber: form.personalNumber ?? '',
      error: error ? MOCK_MESSAGES[error] : undefined,
      errorField: error === 'phoneUnknown' ? 'personalNumber' : error ? 'qr' : undefined,
    });
  }

  function afterOpen(ctx: Context, opened: Opened, form: Form) {
    if ('refused' in opened) return showStart(ctx, 400, opened.refused, form);
    ctx.status = 303;
    ctx.redirect(`${basePath}/app/${opened.appId}`);
  }

  async function start(ctx: Context) {
    if (ctx.method === 'GET') {
      const { qr, autostarttoken, redirect } = ctx.query;
      if (typeof qr === 'string') return afterOpen(ctx, await app.openByQr(qr), { qr });
      if (typeof autostarttoken === 'string') return afterOpen(ctx, await app.openByAutostart(autostarttoken, httpUrlOrUndefined(redirect)), {});
      return showStart(ctx);
    }
    if (ctx.method !== 'POST') throw new PageError(405, 'badRequest');
    const form = await readForm(ctx, START_CSRF_BINDING);
    if (form.action === 'phone') return afterOpen(ctx, await app.openPhoneOrder((form.personalNumber ?? '').replace(/\D/g, '')), form);
    return afterOpen(ctx, await app.openByQr(form.qr ?? ''), form);
  }

  function showOrder(ctx: Context, order: Order, appId: string, status = 200, error?: Refusal, notice?: MockMessageId) {
    const at = now();
    const seen = observe(order, at);
    const allowed = order.requiredPersonalNumber ? [personFor(order.requiredPersonalNumber)] : TEST_PERSONS;
    const chosen = order.personalNumber ? personFor(order.personalNumber) : undefined;
    view.page(ctx, status, 'order.njk', {
      step: order.cancelledByRp ? 'ended' : appStep(order, at),
      heading: order.type === 'sign' ? MOCK_MESSAGES.signHeading : MOCK_MESSAGES.orderHeading,
      actionUrl: `${basePath}/app/${appId}`,
      startUrl: `${basePath}/app`,
      csrf: csrf.tokenFor(appId),
      rpSees: order.cancelledByRp ? 'cancelled by the service' : `${seen.status}${seen.hintCode ? `/${seen.hintCode}` : ''}`,
      endUserIp: order.endUserIp,
      visibleText: decodeVisible(order.userVisibleData),
      persons: allowed.map((p, i) => ({ ...p, name: fullName(p), checked: allowed.length === 1 || i === 0 })),
      chosen: chosen ? { ...chosen, name: fullName(chosen) } : undefined,
      failures: TESTER_FAILURES,
      pendingHint: UNKNOWN_PENDING_HINT,
      redirect: order.redirect,
      error: error ? MOCK_MESSAGES[error] : undefined,
      notice: notice ? MOCK_MESSAGES[notice] : undefined,
    });
  }

  async function orderPage(ctx: Context, appId: string) {
    if (ctx.method === 'GET') {
      const order = await app.byAppId(appId);
      if (!order) throw new PageError(404, 'orderEnded');
      return showOrder(ctx, order, appId, 200, undefined, ctx.query.notice === 'otherCancelled' ? 'otherCancelled' : undefined);
    }
    if (ctx.method !== 'POST') throw new PageError(405, 'badRequest');
    const form = await readForm(ctx, appId);
    const action = form.action ?? '';
    const result = action === 'identify' ? await app.identify(appId, form.person ?? '') : await app.decide(appId, action, ctx.ip);
    if ('refused' in result) {
      const order = await app.byAppId(appId);
      if (!order) throw new PageError(404, result.refused);
      return showOrder(ctx, order, appId, 400, result.refused);
    }
    ctx.status = 303;
    ctx.redirect(`${basePath}/app/${appId}${result.cancelledOther ? '?notice=otherCancelled' : ''}`);
  }

  /** `rest` is the path after the base path: `/app` or `/app/<appId>`. */
  return async function handle(ctx: Context, rest: string): Promise<void> {
    try {
      if (rest === '/app') return await start(ctx);
      const match = APP_PATH.exec(rest);
      if (!match) throw new PageError(404, 'notFound');
      return await orderPage(ctx, match[1]!);
    } catch (err) {
      const known = err instanceof PageError ? err : undefined;
      if (!known) deps.logger.error({ err }, 'bankid mock app page failed');
      if (known?.status === 405) ctx.set('Allow', 'GET, POST');
      view.page(ctx, known?.status ?? 500, 'error.njk', { message: MOCK_MESSAGES[known?.messageId ?? 'serverError'], startUrl: `${basePath}/app` });
    }
  };
}
