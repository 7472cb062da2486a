/**
 * What the registration and password-reset pages share: their dependencies, their URLs and how each of
 * the three pages (enter the address, enter the code, choose the password) is drawn. Rules: every
 * message is a catalogue id attached to the form (an alert the form is described by) or to its field;
 * every rule of the password policy is listed before the user types, and the broken ones are named
 * after; every page offers a way on (send a new code, use another address, back to login).
 */
import type { Clock } from '../../clock.js';
import type { LocalAccountSettings } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Mailer } from '../../mail/mailer.js';
import type { PasswordPolicy, PasswordRuleId } from '../../policies/password-rules.js';
import type { AccountRepository } from '../../store/accounts.js';
import type { AuditLog } from '../../store/audit.js';
import type { Flow, FlowKind, FlowRepository } from '../../store/flows.js';
import type { LocalAccountStore } from '../../store/local-accounts.js';
import type { RateLimits } from '../../store/rate-limits.js';
import type { LoginThrottle } from '../login-throttle.js';
import type { DeviceCookies } from '../device-cookie.js';
import type { InteractionContext } from '../router.js';
import { requestIp } from '../request-ip.js';
import { formatMoment } from '../../i18n/time.js';
import type { CodeBudget } from './code-budget.js';
import type { Metrics } from '../../observability/metrics.js';

export interface LocalAccountDeps {
  settings: LocalAccountSettings;
  clock: Clock;
  logger: Logger;
  audit: AuditLog;
  accounts: AccountRepository;
  flows: FlowRepository;
  store: LocalAccountStore;
  rateLimits: RateLimits;
  loginThrottle: LoginThrottle;
  /** Registration and reset end in a login, which gives the browser its device cookie. */
  deviceCookies: DeviceCookies;
  codeBudget: CodeBudget;
  mailer: Mailer;
  policy: PasswordPolicy;
  /** A keyed hash for values that must not be stored in the clear (addresses in rate-limit keys). */
  keyHash: (value: string) => string;
  /** Registrations and resets started (code mailed) and completed (src/observability/metrics.ts). */
  countFlow: Metrics['localFlow'];
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

/**
 * "Too many wrong codes for this address; try again at <time>": the time in the page's language,
 * rounded up to the minute so it is never too early, and the same moment as Retry-After.
 */
export function addressBlocked(ic: InteractionContext, deps: Pick<LocalAccountDeps, 'clock'>, until: number): PageMessage {
  const minute = Math.ceil(until / 60_000) * 60_000;
  ic.ctx.set('Retry-After', String(Math.max(1, Math.ceil((minute - deps.clock.now()) / 1000))));
  return { errorId: 'local.code.error.address_blocked', errorParams: { time: formatMoment(ic.locale, minute) } };
}

export function renderStart(ic: InteractionContext, kind: FlowKind, vars: PageMessage & { email?: string; fieldError?: boolean }, status = 200): void {
  const urls = flowUrls(ic.uid, kind);
  ic.ctx.status = status;
  ic.render('local/start.njk', { kind, actionUrl: urls.start, loginUrl: urls.login, email: '', ...vars });
}

export function renderCode(
  ic: InteractionContext,
  deps: LocalAccountDeps,
  flow: Flow,
  vars: PageMessage & { fieldError?: boolean; continueUrl?: string | undefined },
  status = 200,
): void {
  const urls = flowUrls(ic.uid, flow.kind, flow.id);
  ic.ctx.status = status;
  ic.render('local/code.njk', {
    kind: flow.kind,
    email: flow.email,
    minutes: Math.ceil(deps.settings.codeTtlSeconds / 60),
    cooldownSeconds: deps.settings.codeResendCooldownSeconds,
    codeUrl: urls.code,
    resendUrl: urls.resend,
    startUrl: urls.start,
    loginUrl: urls.login,
    registerUrl: flow.kind === 'recovery' ? urls.register : undefined,
    ...vars,
  });
}

export function renderPassword(
  ic: InteractionContext,
  deps: LocalAccountDeps,
  flow: Flow,
  vars: PageMessage & { broken?: PasswordRuleId[]; name?: string; nameError?: boolean },
  status = 200,
): void {
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
}
