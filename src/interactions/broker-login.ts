/**
 * Logging in through any redirect method of the registry (ID-porten, a configured OpenID upstream, the
 * foreign-eID refusal). Rules:
 * - a method starts only when the client offers it and it can reach its floor; the floor goes upstream;
 * - the upstream returns to one fixed callback URL (registered exactly); the pending login is found by
 *   the `state` value, used once, and kept in the store — any instance can take the callback;
 * - exactly once, under concurrency too: the pending login and the outcome are each claimed with a
 *   conditional update whose row count decides, so of any number of replayed or simultaneous callbacks
 *   (or `done` requests) one goes on and the others are refused; a used state stays claimed until the
 *   login would have expired, so a replayed callback is refused with the broker error page and audited
 *   (`state_reused`), and logs no one in;
 * - the RP's demand for a fresh login (prompt=login, max_age) goes to the broker; the upstream's
 *   auth_time becomes the session's (oidc-provider's `login.ts`);
 * - the callback completes the upstream exchange server-side and hands only the outcome to the
 *   interaction, which the browser's interaction cookie must own (a stolen callback URL logs no one in);
 * - the identity becomes its own federated account (never linked to another): upstream-login.ts;
 * - failures get the page the method declares for them (src/brokers/error-pages.ts: which upstream
 *   failed, who can help) with a way back to the methods; a refusal at the start is audited too.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from '../logger.js';
import type { Renderer } from '../views/renderer.js';
import type { Locale } from '../i18n/locales.js';
import { freshnessDemand } from '../brokers/freshness.js';
import type { AuditLog } from '../store/audit.js';
import type { OneTimeStore } from '../store/oidc-adapter.js';
import { BrokerError, type BrokerErrorKind, type BrokerState, type LevelDetail, type Requirement, type UpstreamIdentity } from '../brokers/types.js';
import { callbackUrlFor, type RedirectMethod } from '../brokers/method.js';
import type { MethodRegistry } from '../brokers/registry.js';
import { BadRequestError } from '../errors.js';
import type { InteractionContext, InteractionRoutes } from './interaction-context.js';
import { startMethod } from './login-methods.js';
import { labelText } from './labels.js';
import { loginResult, type UpstreamLogins } from './upstream-login.js';

export interface BrokerLoginDeps {
  issuer: string;
  methods: MethodRegistry;
  /** Stored pending logins (by upstream state) and outcomes (by interaction uid). */
  pending: OneTimeStore;
  outcomes: OneTimeStore;
  ttlSeconds: number;
  logins: UpstreamLogins;
  audit: AuditLog;
  logger: Logger;
  /** For the page a replayed callback gets: it belongs to no live interaction. */
  renderer: Renderer;
}

interface PendingLogin {
  uid: string;
  broker: string;
  state: BrokerState;
  requirement: Requirement;
  clientId?: string;
  /** Added on read once a callback has taken this login (the adapter's consume). */
  consumed?: number;
}

type Outcome = { identity: UpstreamIdentity } | { error: { kind: BrokerErrorKind; detail?: LevelDetail } };

/** What the store hands back: the payload, marked when it was claimed already. */
type Stored<T> = T & { consumed?: number };

function redirectMethod(methods: MethodRegistry, id: string): RedirectMethod | undefined {
  const method = methods.get(id);
  return method?.capability === 'redirect' ? method : undefined;
}

export function brokerRoutes(deps: BrokerLoginDeps): InteractionRoutes {
  return (router, kit) => {
    const urls = (uid: string) => ({ methodsUrl: `/interaction/${uid}`, abortUrl: `/interaction/${uid}/abort` });
    const who = (ic: InteractionContext) => ({ clientId: ic.clientId, ip: ic.ctx.ip });

    router.post('/method/:method', kit.formBody, async (ctx, next) => {
      const id = String(ctx.params.method);
      const known = deps.methods.get(id);
      // Decoupled methods (BankID) have their own routes, registered after these.
      if (known?.capability === 'decoupled') return next();
      const started = await startMethod(kit, ctx, id);
      if (!started) return;
      const { ic, offered } = started;
      const method = redirectMethod(deps.methods, id);
      if (!method) throw new BadRequestError(`login method ${id} is not an upstream login`);
      await kit.left(ic);
      const fresh = freshnessDemand(ic.details.params as Record<string, unknown>);
      const requirement: Requirement = { minimum: offered.floor, locale: ic.locale, ...(fresh ? { fresh } : {}) };
      try {
        const begun = await method.broker.begin(requirement, callbackUrlFor(deps.issuer, method.id));
        const pending: PendingLogin = { uid: ic.uid, broker: method.id, state: begun.state, requirement, clientId: ic.clientId };
        await deps.pending.upsert(begun.stateParam, pending as never, deps.ttlSeconds);
        ctx.status = 303;
        ctx.redirect(begun.redirectTo);
      } catch (err) {
        if (!(err instanceof BrokerError)) throw err;
        if (err.kind !== 'refused') deps.logger.warn({ err, broker: method.id }, 'upstream login could not start');
        await deps.logins.failed(method, err.kind, who(ic));
        renderFailure(ic, method, { kind: err.kind });
      }
    });

    router.get('/broker/:broker/done', async (ctx) => {
      const ic = await kit.load(ctx);
      if (!ic) return;
      const outcome = (await deps.outcomes.find(ic.uid)) as Stored<Outcome> | undefined;
      if (!outcome || outcome.consumed || ic.details.prompt.name !== 'login') return ctx.redirect(`/interaction/${ic.uid}`);
      const method = redirectMethod(deps.methods, String(ctx.params.broker));
      if (!method) throw new BadRequestError('unknown upstream login');
      // One `done` per outcome: a concurrent or replayed one finds it claimed and goes back to the methods.
      if (!(await deps.outcomes.claim(ic.uid))) return ctx.redirect(`/interaction/${ic.uid}`);
      if ('error' in outcome) {
        await deps.logins.failed(method, outcome.error.kind, who(ic));
        return renderFailure(ic, method, outcome.error);
      }
      const entered = await deps.logins.enter(outcome.identity);
      await deps.logins.succeeded(method, entered, who(ic));
      await ic.finish(loginResult(entered.login));
    });

    function renderFailure(ic: InteractionContext, method: RedirectMethod, error: { kind: BrokerErrorKind; detail?: LevelDetail }): void {
      const { view, status, refusal: _refusal, auditReason: _reason, ...page } = method.errors[error.kind];
      const params = { upstream: labelText(method.displayName, ic.locale), ...method.errorParams?.(error.detail) };
      ic.ctx.status = status;
      ic.render(view, { ...urls(ic.uid), ...page, params });
    }
  };
}

/** The fixed callback each upstream returns to: finishes the exchange, then hands over to the interaction. */
export function brokerCallbackRouter(deps: BrokerLoginDeps): Router {
  const router = new Router();
  router.get('/broker/:broker/callback', async (ctx) => {
    const stateParam = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const pending = stateParam ? ((await deps.pending.find(stateParam)) as Stored<PendingLogin> | undefined) : undefined;
    const method = redirectMethod(deps.methods, String(ctx.params.broker));
    if (!pending || !method || pending.broker !== method.id) {
      // Unknown or expired (a used one is refused below): a 400 page.
      throw new BadRequestError('unknown or expired upstream login');
    }
    // Single use, atomically (the claim decides between simultaneous callbacks): the row stays, consumed,
    // so that a replay is recognised, refused and audited.
    if (pending.consumed !== undefined || !(await deps.pending.claim(stateParam))) return refuseReplay(ctx, pending, method);
    const callbackUrl = new URL(`${callbackUrlFor(deps.issuer, method.id)}?${ctx.querystring}`);
    let outcome: Outcome;
    try {
      outcome = { identity: await method.broker.complete(callbackUrl, pending.state, pending.requirement) };
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      // The check that failed (the RP library's code and message name claims, never their values).
      const cause = err.cause as { code?: unknown; cause?: unknown } | undefined;
      deps.logger.warn(
        { broker: method.id, kind: err.kind, err: { message: err.message, cause: String(err.cause ?? ''), code: cause?.code, check: cause?.cause ? String(cause.cause) : undefined } },
        'upstream login failed',
      );
      outcome = { error: { kind: err.kind, ...(err.detail ? { detail: err.detail } : {}) } };
    }
    // A fresh row: upsert keeps a claim, so an earlier attempt's claimed outcome would hide this one.
    await deps.outcomes.destroy(pending.uid);
    await deps.outcomes.upsert(pending.uid, outcome as never, deps.ttlSeconds);
    ctx.status = 303;
    ctx.redirect(`/interaction/${pending.uid}/broker/${method.id}/done`);
  });

  /** A used state came back: someone replays a callback URL. Refused without going upstream again. */
  async function refuseReplay(ctx: Context, pending: PendingLogin, method: RedirectMethod): Promise<void> {
    deps.logger.warn({ broker: pending.broker }, 'a used upstream callback was replayed');
    await deps.audit.record({ event: `login.${pending.broker}`, outcome: 'failure', clientId: pending.clientId, ip: ctx.ip, detail: { reason: 'state_reused' } });
    const locale = pending.requirement.locale as Locale;
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = deps.renderer.render('broker-error.njk', locale, {
      titleId: 'broker.replayed.title',
      messageId: 'broker.replayed.message',
      params: { upstream: labelText(method.displayName, locale) },
      methodsUrl: `/interaction/${pending.uid}`,
    });
  }
  return router;
}
