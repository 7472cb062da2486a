/**
 * Logging in with Swedish BankID (a decoupled broker). Rules:
 * - the order lives in the store under the interaction, never in memory: a reload, or another
 *   instance, picks it up; the QR secret stays in the stored state and never reaches the browser —
 *   the page gets the QR data of the current second (JSON or SVG) from us;
 * - the page polls every 2 s; each poll is one `collect` upstream; BankID's hint codes become its
 *   recommended messages (RFA) in the user's language; unknown hint codes are tolerated;
 * - "Cancel" cancels the order upstream and returns to the method list; a failure offers to try again;
 * - a completed order becomes its own federated account (keyed by the personnummer), never linked.
 */
import QRCode from 'qrcode';
import type { Adapter } from 'oidc-provider';
import type { Logger } from '../logger.js';
import type { AuditLog } from '../store/audit.js';
import type { FederatedAccountRepository } from '../store/federated-accounts.js';
import { BankidError, type BankidBroker } from '../brokers/bankid-se/broker.js';
import { rfaForFailed, rfaForPending, type StartMode } from '../brokers/bankid-se/hints.js';
import { autoStartUrl } from '../brokers/bankid-se/qr.js';
import { BrokerError, type BrokerState, type Requirement } from '../brokers/types.js';
import { BadRequestError } from '../errors.js';
import { translate } from '../i18n/translate.js';
import type { MessageId } from '../i18n/messages/en.js';
import type { InteractionContext, InteractionRoutes } from './router.js';
import { methodChoice } from './login-methods.js';
import { countFailure } from './broker-login.js';
import type { LoginCounters } from '../observability/metrics.js';

export interface BankidLoginDeps {
  broker: BankidBroker;
  orders: Adapter;
  ttlSeconds: number;
  federated: FederatedAccountRepository;
  audit: AuditLog;
  logger: Logger;
  /** Where "BankID on this device" goes: the real app (`bankid:///`) or the mock's simulated app. */
  autoStartBase: string | undefined;
  /** The simulated app's page, shown with the QR data when the mock is in use. */
  mockAppUrl: string | undefined;
  /** Login metrics: outcomes, and upstream trouble as a refusal. */
  count: LoginCounters;
}

interface Order {
  state: BrokerState;
  requirement: Requirement;
  mode: StartMode;
  failedRfa?: string;
}

const METHOD = 'bankid-se';

const isMobile = (userAgent: string) => /Android|iPhone|iPad|iPod|Mobile/i.test(userAgent);

export function bankidRoutes(deps: BankidLoginDeps): InteractionRoutes {
  return (router, kit) => {
    const urls = (uid: string) => {
      const base = `/interaction/${uid}/bankid`;
      return {
        pageUrl: base,
        statusUrl: `${base}/status`,
        qrUrl: `${base}/qr`,
        cancelUrl: `${base}/cancel`,
        sameDeviceUrl: `${base}/this-device`,
        retryUrl: `/interaction/${uid}/method/${METHOD}`,
        methodsUrl: `/interaction/${uid}`,
      };
    };
    const findOrder = async (uid: string) => (await deps.orders.find(uid)) as Order | undefined;
    const saveOrder = (uid: string, order: Order) => deps.orders.upsert(uid, order as never, deps.ttlSeconds);
    const rfaMessage = (ic: InteractionContext, rfa: string) => translate(ic.locale, `rfa.${rfa}` as MessageId);

    router.post(`/method/${METHOD}`, kit.formBody, async (ctx) => {
      const ic = await kit.load(ctx);
      if (!ic) return;
      kit.checkCsrf(ic);
      if (ic.details.prompt.name !== 'login') return ctx.redirect(`/interaction/${ic.uid}`);
      const offered = methodChoice(ic).floorOf(METHOD);
      if (!offered) throw new BadRequestError('BankID is not offered for this request');
      const requirement: Requirement = { minimum: offered.floor, locale: ic.locale };
      const previous = await findOrder(ic.uid);
      if (previous && !previous.failedRfa) await deps.broker.cancel(previous.state).catch(() => undefined);
      try {
        const { state } = await deps.broker.begin(requirement, { ip: ctx.ip });
        await saveOrder(ic.uid, { state, requirement, mode: 'qr' });
      } catch (err) {
        if (!(err instanceof BrokerError)) throw err;
        countFailure(deps.count, METHOD, err.kind);
        await saveOrder(ic.uid, { state: {}, requirement, mode: 'qr', failedRfa: err instanceof BankidError ? err.rfa : 'RFA22' });
      }
      ctx.status = 303;
      ctx.redirect(urls(ic.uid).pageUrl);
    });

    /** One collect; completes the login, records a failure, or returns the pending message. */
    async function step(ic: InteractionContext, order: Order): Promise<{ status: 'pending'; message: string } | { status: 'done'; redirect: string }> {
      try {
        const result = await deps.broker.poll(order.state, order.requirement);
        if (result.status === 'pending') {
          return { status: 'pending', message: rfaMessage(ic, rfaForPending(result.hint, order.mode, isMobile(ic.ctx.get('user-agent')))) };
        }
        if (result.status === 'failed') {
          await saveOrder(ic.uid, { ...order, failedRfa: rfaForFailed(result.reason, order.mode) });
          await deps.audit.record({ event: `login.${METHOD}`, outcome: 'failure', clientId: clientIdOf(ic), ip: ic.ctx.ip, detail: { reason: result.reason } });
          // BankID's own failures (the person cancelled, the order expired, …) are no refusal of ours.
          deps.count.login({ method: METHOD, outcome: result.reason === 'userCancel' ? 'cancelled' : 'failure' });
          return { status: 'done', redirect: urls(ic.uid).pageUrl };
        }
        const { identity } = result;
        await deps.orders.destroy(ic.uid);
        const account = await deps.federated.loginWith(identity.broker, identity.subject, {
          ...(identity.claims.name ? { name: identity.claims.name } : {}),
          ...(identity.claims.given_name ? { given_name: identity.claims.given_name } : {}),
          ...(identity.claims.family_name ? { family_name: identity.claims.family_name } : {}),
          ...(identity.claims.birthdate ? { birthdate: identity.claims.birthdate } : {}),
        });
        await deps.audit.record({ event: `login.${METHOD}`, outcome: 'success', accountId: account.accountId, clientId: clientIdOf(ic), ip: ic.ctx.ip, detail: { created: account.created } });
        deps.count.login({ method: METHOD, outcome: 'success', acr: identity.acr });
        const redirect = await ic.provider.interactionResult(ic.ctx.req, ic.ctx.res, { login: { accountId: account.accountId, acr: identity.acr, amr: identity.amr, remember: false } }, { mergeWithLastSubmission: false });
        return { status: 'done', redirect };
      } catch (err) {
        if (!(err instanceof BrokerError)) throw err;
        deps.logger.warn({ broker: METHOD, kind: err.kind, message: err.message }, 'BankID collect failed');
        countFailure(deps.count, METHOD, err.kind);
        await saveOrder(ic.uid, { ...order, failedRfa: err instanceof BankidError ? err.rfa : 'RFA22' });
        return { status: 'done', redirect: urls(ic.uid).pageUrl };
      }
    }

    async function qr(order: Order): Promise<{ data: string; svg: string }> {
      const data = deps.broker.qrData(order.state);
      return { data, svg: await QRCode.toString(data, { type: 'svg', margin: 1, errorCorrectionLevel: 'L' }) };
    }

    router.get('/bankid', async (ctx) => {
      const ic = await kit.load(ctx);
      if (!ic) return;
      const order = await findOrder(ic.uid);
      if (!order || ic.details.prompt.name !== 'login') return ctx.redirect(`/interaction/${ic.uid}`);
      if (order.failedRfa) {
        ic.render('bankid.njk', { ...urls(ic.uid), failedId: `rfa.${order.failedRfa}` });
        return;
      }
      // A reload polls once, so the page shows where the order is (or finishes the login).
      const now = await step(ic, order);
      if (now.status === 'done') return ctx.redirect(now.redirect);
      const { data, svg } = await qr(order);
      ic.render('bankid.njk', {
        ...urls(ic.uid),
        statusText: now.message,
        qrSvg: svg,
        qrData: data,
        showQrData: deps.mockAppUrl !== undefined,
        mockAppUrl: deps.mockAppUrl,
      });
    });

    router.get('/bankid/status', async (ctx) => {
      const ic = await kit.load(ctx);
      if (!ic) return;
      const order = await findOrder(ic.uid);
      ctx.set('Cache-Control', 'no-store');
      if (!order || order.failedRfa || ic.details.prompt.name !== 'login') {
        ctx.body = { status: 'done', redirect: urls(ic.uid).pageUrl };
        return;
      }
      ctx.body = await step(ic, order);
    });

    router.get('/bankid/qr', async (ctx) => {
      const ic = await kit.load(ctx);
      if (!ic) return;
      const order = await findOrder(ic.uid);
      ctx.set('Cache-Control', 'no-store');
      if (!order || order.failedRfa) {
        ctx.status = 404;
        ctx.body = { error: 'no running order' };
        return;
      }
      ctx.body = await qr(order);
    });

    router.get('/bankid/this-device', async (ctx) => {
      const ic = await kit.load(ctx);
      if (!ic) return;
      const order = await findOrder(ic.uid);
      if (!order || order.failedRfa) return ctx.redirect(`/interaction/${ic.uid}`);
      await saveOrder(ic.uid, { ...order, mode: 'same-device' });
      const token = String(order.state.autoStartToken);
      ctx.redirect(deps.autoStartBase ? `${deps.autoStartBase}?autostarttoken=${encodeURIComponent(token)}` : autoStartUrl(token, { mobile: isMobile(ctx.get('user-agent')) }));
    });

    router.post('/bankid/cancel', kit.formBody, async (ctx) => {
      const ic = await kit.load(ctx);
      if (!ic) return;
      kit.checkCsrf(ic);
      const order = await findOrder(ic.uid);
      if (order && !order.failedRfa) await deps.broker.cancel(order.state).catch((err: unknown) => deps.logger.warn({ err }, 'BankID cancel failed'));
      await deps.orders.destroy(ic.uid);
      ctx.status = 303;
      ctx.redirect(`/interaction/${ic.uid}`);
    });
  };
}

function clientIdOf(ic: InteractionContext): string {
  return String((ic.details.params as Record<string, unknown>).client_id);
}
