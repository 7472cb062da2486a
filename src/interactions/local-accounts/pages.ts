/**
 * What the registration and password-reset pages share: their URLs and how each of
 * the three pages (enter the address, enter the code, choose the password) is drawn. Rules: every
 * message is a catalogue id attached to the form (an alert the form is described by) or to its field;
 * every rule of the password policy is listed before the user types, and the broken ones are named
 * after; every page offers a way on (send a new code, use another address, back to login).
 */
import type { Clock } from '../../clock.js';
import type { LocalAccountSettings } from '../../config/index.js';
import type { PasswordPolicy, PasswordRuleId } from '../../policies/password-rules.js';
import type { Flow, FlowKind } from '../../store/flows.js';
import type { InteractionContext } from '../interaction-context.js';
import { requestIp } from '../request-ip.js';
import { formatMoment } from '../../i18n/time.js';

/** The code page, the password page and the "address blocked" message, with what each needs to say. */
export interface FlowPages {
  code(ic: InteractionContext, flow: Flow, vars: PageMessage & { fieldError?: boolean; continueUrl?: string | undefined }, status?: number): void;
  password(ic: InteractionContext, flow: Flow, vars: PageMessage & { broken?: PasswordRuleId[]; name?: string; nameError?: boolean }, status?: number): void;
  /** "Too many wrong codes for this address; try again at <time>", with the matching Retry-After. */
  addressBlocked(ic: InteractionContext, until: number): PageMessage;
}

export const FLOW_PATHS: Record<FlowKind, string> = { registration: 'register', recovery: 'reset' };

export function flowUrls(uid: string, kind: FlowKind, flowId?: string) {
  const start = `/interaction/${uid}/${FLOW_PATHS[kind]}`;
  const flow = flowId ? `${start}/${flowId}` : start;
  return {
    login: `/interaction/${uid}`,
    start,
    flow,
    code: `${flow}/code`,
    resend: `${flow}/resend`,
    password: `${flow}/password`,
    register: `/interaction/${uid}/${FLOW_PATHS.registration}`,
    reset: `/interaction/${uid}/${FLOW_PATHS.recovery}`,
  };
}

export interface PageMessage {
  errorId?: string;
  errorParams?: Record<string, string | number>;
  noticeId?: string;
}

export const auditBase = (ic: InteractionContext) => ({
  clientId: ic.clientId,
  ip: requestIp(ic.ctx),
  requestId: String(ic.ctx.state.requestId ?? ''),
});

export function renderStart(ic: InteractionContext, kind: FlowKind, vars: PageMessage & { email?: string; fieldError?: boolean }, status = 200): void {
  const urls = flowUrls(ic.uid, kind);
  ic.ctx.status = status;
  ic.render('local/start.njk', { kind, actionUrl: urls.start, loginUrl: urls.login, email: '', ...vars });
}

export function createFlowPages(deps: {
  clock: Clock;
  codes: Pick<LocalAccountSettings, 'codeTtlSeconds' | 'codeResendCooldownSeconds'>;
  policy: PasswordPolicy;
}): FlowPages {
  return {
    code(ic, flow, vars, status = 200) {
      const urls = flowUrls(ic.uid, flow.kind, flow.id);
      ic.ctx.status = status;
      ic.render('local/code.njk', {
        kind: flow.kind,
        email: flow.email,
        minutes: Math.ceil(deps.codes.codeTtlSeconds / 60),
        cooldownSeconds: deps.codes.codeResendCooldownSeconds,
        codeUrl: urls.code,
        resendUrl: urls.resend,
        startUrl: urls.start,
        loginUrl: urls.login,
        registerUrl: flow.kind === 'recovery' ? urls.register : undefined,
        ...vars,
      });
    },

    password(ic, flow, vars, status = 200) {
      const urls = flowUrls(ic.uid, flow.kind, flow.id);
      const broken = new Set(vars.broken ?? []);
      const rules = deps.policy.rules.map((r) => ({ id: `password.rule.${r.id}`, params: r.params, broken: broken.has(r.id) }));
      ic.ctx.status = status;
      ic.render('local/password.njk', {
        kind: flow.kind,
        email: flow.email,
        actionUrl: urls.password,
        loginUrl: urls.login,
        resetUrl: urls.reset,
        rules,
        brokenRules: rules.filter((r) => r.broken),
        adviceId: `local.password.${deps.policy.preset}_advice`,
        name: vars.name ?? '',
        nameError: vars.nameError ?? false,
        errorId: vars.errorId,
        errorParams: vars.errorParams,
      });
    },

    // The time in the page's language, rounded up to the minute so it is never too early, and the
    // same moment as Retry-After.
    addressBlocked(ic, until) {
      const minute = Math.ceil(until / 60_000) * 60_000;
      ic.ctx.set('Retry-After', String(Math.max(1, Math.ceil((minute - deps.clock.now()) / 1000))));
      return { errorId: 'local.code.error.address_blocked', errorParams: { time: formatMoment(ic.locale, minute) } };
    },
  };
}
