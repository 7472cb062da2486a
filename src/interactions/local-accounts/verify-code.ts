/**
 * The code page of registration and password reset. Rules:
 * - only six digits are checked (spaces and dashes from a paste are ignored); anything else is a form
 *   error that costs no attempt;
 * - the check itself is the store's: attempt counted first, constant-time comparison, consumption by a
 *   conditional update, so of many concurrent right answers exactly one goes on (303 to the next step)
 *   and the others are told the code was used;
 * - before that, the guess is counted against the address's budget (src/interactions/local-accounts/
 *   code-budget.ts): once it is used up, no code is compared until the page's stated time, however many
 *   codes are sent; the tries left are the fewer of the code's and the address's;
 * - every outcome names what to do next: try again (with the tries left), send a new code, come back at
 *   a stated time, or start again when the flow itself has expired.
 */
import type { AuditLog } from '../../store/audit.js';
import type { Flow, FlowRepository } from '../../store/flows.js';
import type { InteractionContext } from '../interaction-context.js';
import type { CodeBudget } from './code-budget.js';
import { auditBase, flowUrls, renderStart, type FlowPages } from './pages.js';

export interface VerifyCodeDeps {
  flows: Pick<FlowRepository, 'find' | 'checkCode'>;
  codeBudget: Pick<CodeBudget, 'begin'>;
  pages: FlowPages;
  audit: AuditLog;
}

export function createVerifyCode(deps: VerifyCodeDeps) {
  /** The code was consumed already (maybe by this user's other tab): say so, and link on when it was verified. */
  async function used(ic: InteractionContext, flow: Flow): Promise<void> {
    const current = (await deps.flows.find(flow.id)) ?? flow;
    const continueUrl = current.state === 'verified' ? flowUrls(ic.uid, flow.kind, flow.id).flow : undefined;
    deps.pages.code(ic, current, { errorId: 'local.code.error.used', continueUrl }, 409);
  }

  return {
    used,

    show(ic: InteractionContext, flow: Flow): void {
      deps.pages.code(ic, flow, ic.ctx.query.sent ? { noticeId: 'local.code.resent' } : {});
    },

    async submit(ic: InteractionContext, flow: Flow): Promise<void> {
      const body = ic.ctx.request.body as Record<string, unknown>;
      const code = typeof body.code === 'string' ? body.code.replace(/[\s-]/g, '') : '';
      if (!/^[0-9]{6}$/.test(code)) return deps.pages.code(ic, flow, { errorId: 'local.code.error.format', fieldError: true }, 400);

      const audit = (outcome: 'success' | 'failure', reason?: string) =>
        deps.audit.record({ ...auditBase(ic), event: `${flow.kind}.code_checked`, outcome, ...(reason ? { detail: { reason } } : {}) });
      const guess = await deps.codeBudget.begin(flow.email);
      if (!guess.ok) {
        await audit('failure', 'address_blocked');
        return deps.pages.code(ic, flow, deps.pages.addressBlocked(ic, guess.blockedUntil), 429);
      }
      const check = await deps.flows.checkCode(flow.id, code);
      const budget = await guess.settle(check.result === 'wrong');
      switch (check.result) {
        case 'verified':
          await audit('success');
          ic.ctx.status = 303;
          return ic.ctx.redirect(flowUrls(ic.uid, flow.kind, flow.id).flow);
        case 'wrong': {
          await audit('failure', 'wrong_code');
          if (budget.blockedUntil !== undefined) {
            return deps.pages.code(ic, flow, { ...deps.pages.addressBlocked(ic, budget.blockedUntil), fieldError: true }, 429);
          }
          const left = Math.min(check.attemptsLeft, budget.left);
          return left > 0
            ? deps.pages.code(ic, flow, { errorId: 'local.code.error.wrong', errorParams: { left }, fieldError: true }, 400)
            : deps.pages.code(ic, flow, { errorId: 'local.code.error.too_many' }, 429);
        }
        case 'too_many_attempts':
          await audit('failure', 'too_many_attempts');
          return deps.pages.code(ic, flow, { errorId: 'local.code.error.too_many' }, 429);
        case 'code_expired':
          await audit('failure', 'code_expired');
          return deps.pages.code(ic, flow, { errorId: 'local.code.error.expired' }, 400);
        case 'used':
          return used(ic, flow);
        case 'flow_expired':
          return renderStart(ic, flow.kind, { email: flow.email, noticeId: 'local.flow.expired' }, 410);
        case 'not_found':
          return renderStart(ic, flow.kind, { noticeId: 'local.flow.not_found' }, 404);
      }
    },
  };
}

export type VerifyCode = ReturnType<typeof createVerifyCode>;
