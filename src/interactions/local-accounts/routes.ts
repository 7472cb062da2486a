/**
 * The routes of registration (/interaction/:uid/register…) and password reset (/interaction/:uid/reset…),
 * added to the interaction router. Rules:
 * - every page belongs to a login in progress (the interaction cookie must match) whose prompt is
 *   `login`, for a client that offers e-mail accounts; every POST carries the interaction's CSRF token;
 * - a flow is only served under the interaction and kind it was made for; each step accepts only the
 *   state it handles (a replayed or out-of-order form is sent to the flow's current page);
 * - an unknown or expired flow is never a dead end: the first page again, with a message saying what
 *   happened and the address filled in.
 */
import type { Context } from 'koa';
import type { Clock } from '../../clock.js';
import { BadRequestError } from '../../errors.js';
import type { Flow, FlowKind, FlowRepository } from '../../store/flows.js';
import { methodChoice } from '../login-methods.js';
import type { InteractionContext, InteractionRouteKit, InteractionRoutes } from '../interaction-context.js';
import type { ChoosePassword } from './choose-password.js';
import { FLOW_PATHS, flowUrls, renderStart } from './pages.js';
import type { SendCode } from './send-code.js';
import type { VerifyCode } from './verify-code.js';

type PageHandler = (ic: InteractionContext, kind: FlowKind) => Promise<void> | void;
type FlowHandler = (ic: InteractionContext, flow: Flow) => Promise<void> | void;

/** The three steps of both flows, built by the composition root (src/service/local-accounts.ts). */
export interface FlowSteps {
  sendCode: SendCode;
  verifyCode: VerifyCode;
  choosePassword: ChoosePassword;
}

export function localAccountRoutes(deps: { flows: Pick<FlowRepository, 'find'>; clock: Clock; steps: FlowSteps }): InteractionRoutes {
  const { sendCode, verifyCode, choosePassword } = deps.steps;

  return (router, kit: InteractionRouteKit) => {
    const page = (kind: FlowKind, post: boolean, handler: PageHandler) => async (ctx: Context) => {
      const ic = await kit.load(ctx);
      if (!ic) return;
      if (post) kit.checkCsrf(ic);
      if (ic.details.prompt.name !== 'login') return ctx.redirect(`/interaction/${ic.uid}`);
      if (!methodChoice(ic).password) throw new BadRequestError('e-mail accounts are not offered for this request');
      await handler(ic, kind);
    };

    const withFlow = (kind: FlowKind, post: boolean, handler: FlowHandler) =>
      page(kind, post, async (ic) => {
        const flow = await deps.flows.find(String(ic.ctx.params.flow));
        if (!flow || flow.kind !== kind || flow.interactionUid !== ic.uid) {
          return renderStart(ic, kind, { noticeId: 'local.flow.not_found' }, 404);
        }
        if (flow.expiresAt <= deps.clock.now()) return renderStart(ic, kind, { email: flow.email, noticeId: 'local.flow.expired' }, 410);
        if (flow.state === 'completed') return ic.ctx.redirect(`/interaction/${ic.uid}`);
        return handler(ic, flow);
      });

    /** Runs the step only in the state it handles; otherwise shows the flow's current page. */
    const inState = (state: Flow['state'], handler: FlowHandler): FlowHandler => (ic, flow) => {
      if (flow.state === state) return handler(ic, flow);
      ic.ctx.status = 303;
      return ic.ctx.redirect(flowUrls(ic.uid, flow.kind, flow.id).flow);
    };

    for (const kind of ['registration', 'recovery'] as const) {
      const base = `/${FLOW_PATHS[kind]}`;
      router.get(base, page(kind, false, (ic) => sendCode.show(ic, kind)));
      router.post(base, kit.formBody, page(kind, true, (ic) => sendCode.submit(ic, kind)));
      router.get(
        `${base}/:flow`,
        withFlow(kind, false, (ic, flow) => (flow.state === 'code_sent' ? verifyCode.show(ic, flow) : choosePassword.show(ic, flow))),
      );
      // A code sent after the flow moved on is answered "already used" (with a way on), never accepted twice.
      router.post(
        `${base}/:flow/code`,
        kit.formBody,
        withFlow(kind, true, (ic, flow) => (flow.state === 'code_sent' ? verifyCode.submit(ic, flow) : verifyCode.used(ic, flow))),
      );
      router.post(`${base}/:flow/resend`, kit.formBody, withFlow(kind, true, inState('code_sent', sendCode.resend)));
      router.post(`${base}/:flow/password`, kit.formBody, withFlow(kind, true, inState('verified', choosePassword.submit)));
    }
  };
}
