/**
 * Logging in through an upstream (a redirect broker such as ID-porten) and the foreign-eID refusal.
 * Rules:
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
 * - the identity becomes its own federated account (never linked to another); the login's acr is the
 *   rank the upstream reached, amr what it reported;
 * - failures get an honest page (which upstream failed, who can help) with a way back to the methods.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from '../logger.js';
import type { Renderer } from '../views/renderer.js';
import type { Locale } from '../i18n/locales.js';
import { freshnessDemand } from '../brokers/freshness.js';
import type { AuditLog } from '../store/audit.js';
import type { FederatedAccountRepository } from '../store/federated-accounts.js';
import type { OneTimeStore } from '../store/oidc-adapter.js';
import { BrokerError, type BrokerState, type RedirectBroker, type Requirement, type UpstreamIdentity } from '../brokers/types.js';
import { InsufficientLevelError } from '../brokers/idporten/broker.js';
import { BadRequestError } from '../errors.js';
import { isLoginMethod } from '../policies/client-policy.js';
import type { InteractionContext, InteractionRoutes } from './interaction-context.js';
import { methodChoice } from './login-methods.js';
import type { LoginCounters, LoginMethod } from '../observability/metrics.js';

export interface BrokerLoginDeps {
  issuer: string;
  brokers: Map<string, RedirectBroker>;
  /** Methods handled by a decoupled broker's own routes (src/interactions/bankid-login.ts). */
  decoupledMethods?: Set<string>;
  /** Stored pending logins (by upstream state) and outcomes (by interaction uid). */
  pending: OneTimeStore;
  outcomes: OneTimeStore;
  ttlSeconds: number;
  federated: FederatedAccountRepository;
  audit: AuditLog;
  logger: Logger;
  /** For the page a replayed callback gets: it belongs to no live interaction. */
  renderer: Renderer;
  /** Login metrics: outcomes, and refusals (foreign eID, level too low, upstream trouble). */
  count: LoginCounters;
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

type Outcome = { identity: UpstreamIdentity } | { error: { kind: string; reached?: string; required?: string; amr?: string[] } };

/** What the store hands back: the payload, marked when it was claimed already. */
type Stored<T> = T & { consumed?: number };

const UPSTREAM_NAMES: Record<string, string> = { idporten: 'ID-porten' };
const LEVEL_NAMES: Record<string, string> = { low: '2', substantial: '3', high: '4' };

/** The eID a person used, from ID-porten's amr values, for the "level too low" page. */
function eidName(amr: string[] = []): string {
  const first = amr[0] ?? '';
  if (first.startsWith('Minid')) return 'MinID';
  if (first === 'BankID Mobil') return 'BankID på mobil';
  return first || 'ID-porten';
}

export function callbackUrlFor(issuer: string, broker: string): string {
  return `${issuer}/broker/${broker}/callback`;
}

export function brokerRoutes(deps: BrokerLoginDeps): InteractionRoutes {
  return (router, kit) => {
    const urls = (uid: string) => ({ methodsUrl: `/interaction/${uid}`, abortUrl: `/interaction/${uid}/abort` });

    router.post('/method/:method', kit.formBody, async (ctx, next) => {
      // Decoupled methods (BankID) have their own routes, registered after these.
      if (deps.decoupledMethods?.has(String(ctx.params.method))) return next();
      const ic = await kit.load(ctx);
      if (!ic) return;
      kit.checkCsrf(ic);
      if (ic.details.prompt.name !== 'login') return ctx.redirect(`/interaction/${ic.uid}`);
      const method = String(ctx.params.method);
      const offered = isLoginMethod(method) ? methodChoice(ic).floorOf(method) : undefined;
      if (!offered) throw new BadRequestError(`login method ${method} is not offered for this request`);
      await kit.left(ic);
      if (method === 'foreign-eid') {
        await deps.audit.record({ event: 'login.foreign-eid', outcome: 'failure', clientId: clientIdOf(ic), ip: ctx.ip, detail: { reason: 'refused_by_design' } });
        countFailure(deps.count, 'foreign-eid', 'foreign_eid');
        ic.render('foreign-eid.njk', urls(ic.uid));
        return;
      }
      const broker = deps.brokers.get(method);
      if (!broker) throw new BadRequestError(`login method ${method} is not configured`);
      const fresh = freshnessDemand(ic.details.params as Record<string, unknown>);
      const requirement: Requirement = { minimum: offered.floor, locale: ic.locale, ...(fresh ? { fresh } : {}) };
      try {
        const begun = await broker.begin(requirement, callbackUrlFor(deps.issuer, broker.id));
        const pending: PendingLogin = { uid: ic.uid, broker: broker.id, state: begun.state, requirement, clientId: clientIdOf(ic) };
        await deps.pending.upsert(begun.stateParam, pending as never, deps.ttlSeconds);
        ctx.status = 303;
        ctx.redirect(begun.redirectTo);
      } catch (err) {
        if (!(err instanceof BrokerError)) throw err;
        deps.logger.warn({ err, broker: broker.id }, 'upstream login could not start');
        countFailure(deps.count, broker.id as LoginMethod, err.kind);
        renderFailure(ic, { error: { kind: err.kind } }, broker.id);
      }
    });

    router.get('/broker/:broker/done', async (ctx) => {
      const ic = await kit.load(ctx);
      if (!ic) return;
      const outcome = (await deps.outcomes.find(ic.uid)) as Stored<Outcome> | undefined;
      if (!outcome || outcome.consumed || ic.details.prompt.name !== 'login') return ctx.redirect(`/interaction/${ic.uid}`);
      // One `done` per outcome: a concurrent or replayed one finds it claimed and goes back to the methods.
      if (!(await deps.outcomes.claim(ic.uid))) return ctx.redirect(`/interaction/${ic.uid}`);
      const broker = String(ctx.params.broker);
      if ('error' in outcome) {
        await deps.audit.record({ event: `login.${broker}`, outcome: 'failure', clientId: clientIdOf(ic), ip: ctx.ip, detail: { reason: outcome.error.kind } });
        countFailure(deps.count, broker as LoginMethod, outcome.error.kind);
        return renderFailure(ic, outcome, broker);
      }
      const { identity } = outcome;
      const account = await deps.federated.loginWith(identity.broker, identity.subject, {
        ...(identity.claims.name ? { name: identity.claims.name } : {}),
        ...(identity.claims.given_name ? { given_name: identity.claims.given_name } : {}),
        ...(identity.claims.family_name ? { family_name: identity.claims.family_name } : {}),
        ...(identity.claims.birthdate ? { birthdate: identity.claims.birthdate } : {}),
      });
      await deps.audit.record({ event: `login.${broker}`, outcome: 'success', accountId: account.accountId, clientId: clientIdOf(ic), ip: ctx.ip, detail: { acr: identity.acr, created: account.created } });
      deps.count.login({ method: broker as LoginMethod, outcome: 'success', acr: identity.acr });
      // The upstream's auth_time is when the person really logged in; max_age at our RPs counts from it.
      await ic.finish({ login: { accountId: account.accountId, acr: identity.acr, amr: identity.amr, ...(identity.authTime ? { ts: identity.authTime } : {}) } });
    });

    function renderFailure(ic: InteractionContext, outcome: Extract<Outcome, { error: unknown }>, broker: string): void {
      const upstream = UPSTREAM_NAMES[broker] ?? broker;
      const { kind } = outcome.error;
      const params = {
        upstream,
        required: LEVEL_NAMES[outcome.error.required ?? ''] ?? '',
        reached: LEVEL_NAMES[outcome.error.reached ?? ''] ?? '',
        eid: eidName(outcome.error.amr),
      };
      const page =
        kind === 'cancelled'
          ? { titleId: 'broker.cancelled.title', messageId: 'broker.cancelled.message' }
          : kind === 'insufficient_level'
            ? { titleId: 'broker.level.title', messageId: 'broker.level.message', hintId: 'broker.level.hint' }
            : kind === 'stale_authentication'
              ? { titleId: 'broker.stale.title', messageId: 'broker.stale.message', helpId: `broker.help.${broker}` }
              : {
                titleId: 'broker.unavailable.title',
                messageId: kind === 'timeout' ? 'broker.timeout.message' : kind === 'invalid_response' ? 'broker.invalid.message' : 'broker.unavailable.message',
                helpId: `broker.help.${broker}`,
              };
      ic.ctx.status = kind === 'cancelled' || kind === 'insufficient_level' ? 200 : 502;
      ic.render('broker-error.njk', { ...urls(ic.uid), ...page, params });
    }
  };
}

/** The fixed callback each upstream returns to: finishes the exchange, then hands over to the interaction. */
export function brokerCallbackRouter(deps: BrokerLoginDeps): Router {
  const router = new Router();
  router.get('/broker/:broker/callback', async (ctx) => {
    const stateParam = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const pending = stateParam ? ((await deps.pending.find(stateParam)) as Stored<PendingLogin> | undefined) : undefined;
    const broker = deps.brokers.get(String(ctx.params.broker));
    if (!pending || !broker || pending.broker !== broker.id) {
      // Unknown or expired (a used one is refused below): a 400 page.
      throw new BadRequestError('unknown or expired upstream login');
    }
    // Single use, atomically (the claim decides between simultaneous callbacks): the row stays, consumed,
    // so that a replay is recognised, refused and audited.
    if (pending.consumed !== undefined || !(await deps.pending.claim(stateParam))) return refuseReplay(ctx, pending);
    const callbackUrl = new URL(`${callbackUrlFor(deps.issuer, broker.id)}?${ctx.querystring}`);
    let outcome: Outcome;
    try {
      outcome = { identity: await broker.complete(callbackUrl, pending.state, pending.requirement) };
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      // The check that failed (the RP library's code and message name claims, never their values).
      const cause = err.cause as { code?: unknown; cause?: unknown } | undefined;
      deps.logger.warn(
        { broker: broker.id, kind: err.kind, err: { message: err.message, cause: String(err.cause ?? ''), code: cause?.code, check: cause?.cause ? String(cause.cause) : undefined } },
        'upstream login failed',
      );
      outcome =
        err instanceof InsufficientLevelError
          ? { error: { kind: err.kind, reached: err.reached, required: err.required, amr: err.amr } }
          : { error: { kind: err.kind } };
    }
    // A fresh row: upsert keeps a claim, so an earlier attempt's claimed outcome would hide this one.
    await deps.outcomes.destroy(pending.uid);
    await deps.outcomes.upsert(pending.uid, outcome as never, deps.ttlSeconds);
    ctx.status = 303;
    ctx.redirect(`/interaction/${pending.uid}/broker/${broker.id}/done`);
  });

  /** A used state came back: someone replays a callback URL. Refused without going upstream again. */
  async function refuseReplay(ctx: Context, pending: PendingLogin): Promise<void> {
    deps.logger.warn({ broker: pending.broker }, 'a used upstream callback was replayed');
    await deps.audit.record({ event: `login.${pending.broker}`, outcome: 'failure', clientId: pending.clientId, ip: ctx.ip, detail: { reason: 'state_reused' } });
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = deps.renderer.render('broker-error.njk', pending.requirement.locale as Locale, {
      titleId: 'broker.replayed.title',
      messageId: 'broker.replayed.message',
      params: { upstream: UPSTREAM_NAMES[pending.broker] ?? pending.broker },
      methodsUrl: `/interaction/${pending.uid}`,
    });
  }
  return router;
}

/** A failed upstream login: cancelled by the person, or refused (level too low, foreign eID, upstream trouble). */
export function countFailure(count: LoginCounters, method: LoginMethod, kind: string): void {
  if (kind === 'cancelled') return count.login({ method, outcome: 'cancelled' });
  count.login({ method, outcome: 'failure' });
  count.refusal(kind === 'insufficient_level' ? 'level_too_low' : kind === 'foreign_eid' ? 'foreign_eid' : 'upstream_error');
}

function clientIdOf(ic: InteractionContext): string {
  return String((ic.details.params as Record<string, unknown>).client_id);
}
