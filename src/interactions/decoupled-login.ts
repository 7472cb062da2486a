/**
 * Logging in with a decoupled method of the registry (Swedish BankID): its waiting page, the status the
 * page's script reads, "on this device", "choose another way". Rules:
 * - the order lives in the store under the interaction (decoupled-flow.ts), never in memory; the
 *   upstream is asked at most once per its interval per order, however many pages, tabs or instances poll;
 * - what the page shows comes from the method (its DecoupledPage): BankID's QR secret stays in the store,
 *   and the page and the status get the QR code of the current second;
 * - phones and tablets see "on this device" first, computers the QR code (BankID's guidance);
 * - the status is JSON for our own script (same origin only; a cross-site request is refused), holding
 *   only what the page shows; without JavaScript the page works by "Update the status";
 * - "Choose another way to log in" cancels the order upstream and shows the methods; "Cancel the login"
 *   (the generic abort, router.ts) cancels it upstream and returns access_denied to the client at once;
 *   leaving the login any other way (another method, the interaction expiring) cancels it too;
 * - a completed order becomes its own federated account, never linked, and finishes like any login.
 */
import QRCode from 'qrcode';
import type { Context } from 'koa';
import type Router from '@koa/router';
import type { MethodRegistry } from '../brokers/registry.js';
import type { DecoupledMethod } from '../brokers/method.js';
import type { Requirement } from '../brokers/types.js';
import { translate } from '../i18n/translate.js';
import type { InteractionContext, InteractionRouteKit, InteractionRoutes } from './interaction-context.js';
import { methodChoice, startMethod } from './login-methods.js';
import { isHandheld } from './device-kind.js';
import type { DecoupledFlow, Observation, OrderPayload } from './decoupled-flow.js';
import { loginResult } from './upstream-login.js';

export interface DecoupledLoginDeps {
  methods: MethodRegistry;
  flow: DecoupledFlow;
}

const handheld = (ctx: Context) => isHandheld({ userAgent: ctx.get('user-agent'), chUaMobile: ctx.get('sec-ch-ua-mobile') || undefined });

/** Our script's fetch says same-origin; a browser never lets another site claim that. */
const crossSite = (ctx: Context) => {
  const site = ctx.get('sec-fetch-site');
  return site !== '' && site !== 'same-origin' && site !== 'none';
};

export function decoupledRoutes(deps: DecoupledLoginDeps): InteractionRoutes {
  return (router, kit) => {
    // Only where a decoupled method is offered can an order be running: elsewhere the page costs no order
    // lookup (an order left behind all the same, say by a client changed mid-login, is the order sweeper's).
    kit.onLeave(async (ic) => {
      const choice = methodChoice(ic);
      if (deps.methods.methods.some((m) => m.capability === 'decoupled' && choice.floorOf(m.id))) await deps.flow.cancel(ic.uid);
    });
    for (const method of deps.methods.methods) if (method.capability === 'decoupled') methodRoutes(router, kit, method, deps.flow);
  };
}

function methodRoutes(router: Router, kit: InteractionRouteKit, method: DecoupledMethod, flow: DecoupledFlow): void {
  const { page } = method;
  const urls = (uid: string) => {
    const base = `/interaction/${uid}/${page.path}`;
    return {
      pageUrl: base,
      statusUrl: `${base}/status`,
      cancelUrl: `${base}/cancel`,
      abortUrl: `/interaction/${uid}/abort`,
      sameDeviceUrl: `${base}/this-device`,
      retryUrl: `/interaction/${uid}/method/${method.id}`,
      methodsUrl: `/interaction/${uid}`,
    };
  };
  const who = (ic: InteractionContext) => ({ clientId: ic.clientId, ip: ic.ctx.ip });
  const pendingMessage = (ic: InteractionContext, seen: Extract<Observation, { kind: 'pending' }>) =>
    translate(ic.locale, page.pendingMessage(seen.hint, { mode: seen.order.mode, handheld: handheld(ic.ctx) }));

  /** The interaction is gone (the expired page was rendered): its order, if any, is cancelled upstream. */
  const noticeGone = (ctx: Context) => flow.cancel(String(ctx.params.uid));

  async function shown(order: OrderPayload): Promise<{ image?: string; data?: string }> {
    const { qr } = page.show(order.state);
    if (!qr) return {};
    const svg = await QRCode.toString(qr, { type: 'svg', margin: 1, errorCorrectionLevel: 'L' });
    return { image: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`, data: qr };
  }

  router.post(`/method/${method.id}`, kit.formBody, async (ctx) => {
    const started = await startMethod(kit, ctx, method.id);
    if (!started) return;
    const { ic, offered } = started;
    const requirement: Requirement = { minimum: offered.floor, locale: ic.locale };
    await flow.begin(ic.uid, method, requirement, ctx.ip);
    ctx.status = 303;
    ctx.redirect(urls(ic.uid).pageUrl);
  });

  router.get(`/${page.path}`, async (ctx) => {
    const ic = await kit.load(ctx);
    if (!ic) return noticeGone(ctx);
    if (ic.details.prompt.name !== 'login') return ctx.redirect(`/interaction/${ic.uid}`);
    const seen = await flow.observe(ic.uid, who(ic));
    if (seen.kind === 'complete') return ic.finish(loginResult(seen.login));
    if (seen.kind === 'failed') return ic.render(page.view, { ...urls(ic.uid), failedId: seen.messageId });
    if (seen.kind !== 'pending') return ctx.redirect(`/interaction/${ic.uid}`);
    const { image, data } = await shown(seen.order);
    ic.render(page.view, {
      ...urls(ic.uid),
      statusText: pendingMessage(ic, seen),
      thisDeviceFirst: handheld(ctx),
      qrImage: image,
      qrData: data,
    });
  });

  /** For the page's script: what to show this second and the status; where to go when it is over. */
  router.get(`/${page.path}/status`, async (ctx) => {
    if (crossSite(ctx)) {
      ctx.status = 403;
      ctx.body = { status: 'refused' };
      return;
    }
    const ic = await kit.load(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
    const pageUrl = urls(String(ctx.params.uid)).pageUrl;
    if (!ic) {
      await noticeGone(ctx);
      ctx.type = 'json';
      ctx.body = { status: 'ended', redirect: pageUrl };
      return;
    }
    const seen = ic.details.prompt.name === 'login' ? await flow.observe(ic.uid, who(ic)) : ({ kind: 'none' } as const);
    if (seen.kind === 'pending') {
      const qr = await shown(seen.order);
      ctx.body = { status: 'pending', message: pendingMessage(ic, seen), ...(qr.image ? { qr } : {}) };
    } else if (seen.kind === 'complete') {
      ctx.body = { status: 'complete', redirect: await ic.finishUrl(loginResult(seen.login)) };
    } else {
      ctx.body = { status: seen.kind === 'failed' ? 'failed' : 'ended', redirect: pageUrl };
    }
  });

  router.get(`/${page.path}/this-device`, async (ctx) => {
    const ic = await kit.load(ctx);
    if (!ic) return noticeGone(ctx);
    const order = await flow.setMode(ic.uid, 'same-device');
    if (!order) return ctx.redirect(`/interaction/${ic.uid}`);
    ctx.redirect(page.sameDeviceUrl(order.state, { handheld: handheld(ctx) }));
  });

  /** "Choose another way to log in". */
  router.post(`/${page.path}/cancel`, kit.formBody, async (ctx) => {
    const ic = await kit.load(ctx);
    if (!ic) return noticeGone(ctx);
    kit.checkCsrf(ic);
    await flow.cancel(ic.uid);
    ctx.status = 303;
    ctx.redirect(`/interaction/${ic.uid}`);
  });
}
