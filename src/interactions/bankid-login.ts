/**
 * Logging in with Swedish BankID (a decoupled broker): the pages and the status the page's script reads.
 * Rules:
 * - the order lives in the store under the interaction (bankid-orders.ts), never in memory; BankID is
 *   collected at most once per 2 s per order, however many pages, tabs or instances poll;
 * - the QR secret stays in the store: the page and the status get the QR code of the current second;
 * - phones and tablets see "Open BankID on this device" first, computers the QR code (BankID's guidance);
 * - the status is JSON for our own script (same origin only; a cross-site request is refused), holding
 *   only what the page shows; without JavaScript the page works by "Update the status";
 * - "Choose another way to log in" cancels the order upstream and shows the methods; "Cancel the login"
 *   (the generic abort, router.ts) cancels it upstream and returns access_denied to the client at once;
 *   leaving the login any other way (another method, the interaction expiring) cancels it too;
 * - a completed order becomes its own federated account (keyed by the personnummer), never linked.
 */
import QRCode from 'qrcode';
import type { Context } from 'koa';
import type { Logger } from '../logger.js';
import type { BankidBroker } from '../brokers/bankid-se/broker.js';
import { rfaForPending } from '../brokers/bankid-se/hints.js';
import { isHandheld } from '../brokers/bankid-se/device.js';
import { autoStartUrl } from '../brokers/bankid-se/qr.js';
import type { Requirement } from '../brokers/types.js';
import { BadRequestError } from '../errors.js';
import { translate } from '../i18n/translate.js';
import type { MessageId } from '../i18n/messages/en.js';
import type { InteractionContext, InteractionRoutes } from './interaction-context.js';
import { methodChoice } from './login-methods.js';
import type { BankidOrders, Observation, OrderPayload } from './bankid-orders.js';

export interface BankidLoginDeps {
  broker: BankidBroker;
  orders: BankidOrders;
  logger: Logger;
  /** Where "BankID on this device" goes: the real app (`bankid:///`) or the mock's simulated app. */
  autoStartBase: string | undefined;
  /** The simulated app's page, shown with the QR data when the mock is in use. */
  mockAppUrl: string | undefined;
}

const METHOD = 'bankid-se';

const handheld = (ctx: Context) => isHandheld({ userAgent: ctx.get('user-agent'), chUaMobile: ctx.get('sec-ch-ua-mobile') || undefined });

/** Our script's fetch says same-origin; a browser never lets another site claim that. */
const crossSite = (ctx: Context) => {
  const site = ctx.get('sec-fetch-site');
  return site !== '' && site !== 'same-origin' && site !== 'none';
};

export function bankidRoutes(deps: BankidLoginDeps): InteractionRoutes {
  return (router, kit) => {
    const urls = (uid: string) => {
      const base = `/interaction/${uid}/bankid`;
      return {
        pageUrl: base,
        statusUrl: `${base}/status`,
        cancelUrl: `${base}/cancel`,
        abortUrl: `/interaction/${uid}/abort`,
        sameDeviceUrl: `${base}/this-device`,
        retryUrl: `/interaction/${uid}/method/${METHOD}`,
        methodsUrl: `/interaction/${uid}`,
      };
    };
    const who = (ic: InteractionContext) => ({ clientId: String((ic.details.params as Record<string, unknown>).client_id), ip: ic.ctx.ip });
    const message = (ic: InteractionContext, rfa: string) => translate(ic.locale, `rfa.${rfa}` as MessageId);
    const pendingMessage = (ic: InteractionContext, seen: Extract<Observation, { kind: 'pending' }>) =>
      message(ic, rfaForPending(seen.hint, seen.order.mode, handheld(ic.ctx)));
    const finish = (ic: InteractionContext, seen: Extract<Observation, { kind: 'complete' }>) =>
      ic.provider.interactionResult(ic.ctx.req, ic.ctx.res, { login: { ...seen.login, remember: false } }, { mergeWithLastSubmission: false });

    /** The interaction is gone (the expired page was rendered): its order, if any, is cancelled upstream. */
    const noticeGone = (ctx: Context) => deps.orders.cancel(String(ctx.params.uid));

    async function qr(order: OrderPayload): Promise<{ image: string; data: string }> {
      const data = deps.broker.qrData(order.state);
      const svg = await QRCode.toString(data, { type: 'svg', margin: 1, errorCorrectionLevel: 'L' });
      return { image: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`, data };
    }

    kit.onLeave((ic) => deps.orders.cancel(ic.uid));

    router.post(`/method/${METHOD}`, kit.formBody, async (ctx) => {
      const ic = await kit.load(ctx);
      if (!ic) return;
      kit.checkCsrf(ic);
      if (ic.details.prompt.name !== 'login') return ctx.redirect(`/interaction/${ic.uid}`);
      const offered = methodChoice(ic).floorOf(METHOD);
      if (!offered) throw new BadRequestError('BankID is not offered for this request');
      const requirement: Requirement = { minimum: offered.floor, locale: ic.locale };
      await deps.orders.begin(ic.uid, requirement, ctx.ip);
      ctx.status = 303;
      ctx.redirect(urls(ic.uid).pageUrl);
    });

    router.get('/bankid', async (ctx) => {
      const ic = await kit.load(ctx);
      if (!ic) return noticeGone(ctx);
      if (ic.details.prompt.name !== 'login') return ctx.redirect(`/interaction/${ic.uid}`);
      const seen = await deps.orders.observe(ic.uid, who(ic));
      if (seen.kind === 'complete') return ctx.redirect(await finish(ic, seen));
      if (seen.kind === 'failed') return ic.render('bankid.njk', { ...urls(ic.uid), failedId: `rfa.${seen.rfa}` });
      if (seen.kind !== 'pending') return ctx.redirect(`/interaction/${ic.uid}`);
      const { image, data } = await qr(seen.order);
      ic.render('bankid.njk', {
        ...urls(ic.uid),
        statusText: pendingMessage(ic, seen),
        thisDeviceFirst: handheld(ctx),
        qrImage: image,
        qrData: data,
        showQrData: deps.mockAppUrl !== undefined,
        mockAppUrl: deps.mockAppUrl,
        connectionLost: translate(ic.locale, 'bankid.connection_lost'),
      });
    });

    /** For the page's script: the QR code of this second and the status; where to go when it is over. */
    router.get('/bankid/status', async (ctx) => {
      if (crossSite(ctx)) {
        ctx.status = 403;
        ctx.body = { status: 'refused' };
        return;
      }
      const ic = await kit.load(ctx);
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
      const page = urls(String(ctx.params.uid)).pageUrl;
      if (!ic) {
        await noticeGone(ctx);
        ctx.type = 'json';
        ctx.body = { status: 'ended', redirect: page };
        return;
      }
      const seen = ic.details.prompt.name === 'login' ? await deps.orders.observe(ic.uid, who(ic)) : ({ kind: 'none' } as const);
      if (seen.kind === 'pending') {
        const { image, data } = await qr(seen.order);
        ctx.body = { status: 'pending', message: pendingMessage(ic, seen), qr: { image, ...(deps.mockAppUrl ? { data } : {}) } };
      } else if (seen.kind === 'complete') {
        ctx.body = { status: 'complete', redirect: await finish(ic, seen) };
      } else {
        ctx.body = { status: seen.kind === 'failed' ? 'failed' : 'ended', redirect: page };
      }
    });

    router.get('/bankid/this-device', async (ctx) => {
      const ic = await kit.load(ctx);
      if (!ic) return noticeGone(ctx);
      const order = await deps.orders.setMode(ic.uid, 'same-device');
      if (!order) return ctx.redirect(`/interaction/${ic.uid}`);
      const token = String(order.state.autoStartToken);
      ctx.redirect(deps.autoStartBase ? `${deps.autoStartBase}?autostarttoken=${encodeURIComponent(token)}` : autoStartUrl(token, { mobile: handheld(ctx) }));
    });

    /** "Choose another way to log in". */
    router.post('/bankid/cancel', kit.formBody, async (ctx) => {
      const ic = await kit.load(ctx);
      if (!ic) return noticeGone(ctx);
      kit.checkCsrf(ic);
      await deps.orders.cancel(ic.uid);
      ctx.status = 303;
      ctx.redirect(`/interaction/${ic.uid}`);
    });
  };
}
