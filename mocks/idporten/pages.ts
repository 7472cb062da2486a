/**
 * The tester's page of the ID-porten mock: its login interaction, at `<base>/interaction/:uid` (the router
 * sees the path without the mock's base path; the URLs it writes carry it). Rules:
 * - drawn from the interaction the mock's provider holds (interactionDetails → page → interactionResult);
 * - every POST carries a CSRF token bound to the interaction, in a small form-only body;
 * - the tester picks a synthetic person or types a pid (refused unless it is a valid fødselsnummer or
 *   D-number), and an eID among those that reach the requested minimum (no MinID when high is asked);
 * - or an outcome: cancel (`access_denied`), an upstream failure (`server_error`), or "misbehave": by
 *   default a login one level below the minimum, or the chosen fault in the id_token (misbehaviour.ts),
 *   so the relying party's own checks can be exercised;
 * - an expired interaction, a bad token or a malformed body gets an explanatory page, never a stack trace.
 */
import Router from '@koa/router';
import { koaBody } from 'koa-body';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors as oidcErrors, type InteractionResults } from 'oidc-provider';
import type { MockLogger } from '../shared/deps.js';
import type { MockCsrf } from '../shared/csrf.js';
import { fill } from '../shared/messages.js';
import type { MockPages } from '../shared/pages.js';
import { idportenAcr, levelBelow, offeredEids, pickLocale, requestedMinimum, toAccountId } from './levels.js';
import { isNorwegianId } from './pid.js';
import { MINID, SYNTHETIC_PERSONS, eidById } from './persons.js';
import { MOCK_MESSAGES, type MockMessageId } from './messages.js';
import { isTokenMisbehaviour, LOWER_LEVEL, TOKEN_MISBEHAVIOURS, type Misbehaviours } from './misbehaviour.js';

export interface TesterPageDeps {
  provider: Provider;
  /** Where the mock is served ('' on its own server), for the URLs on its pages. */
  basePath: string;
  csrf: MockCsrf;
  view: MockPages;
  logger: MockLogger;
  misbehaviours: Misbehaviours;
}

class PageError extends Error {
  constructor(
    readonly status: number,
    readonly messageId: MockMessageId,
    options?: { cause?: unknown },
  ) {
    super(messageId, options);
  }
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;
type Form = Record<string, string | undefined>;

export function createTesterPages(deps: TesterPageDeps): Router {
  const { provider, basePath, csrf, view } = deps;
  const router = new Router({ prefix: '/interaction/:uid' });
  const parseForm = koaBody({ urlencoded: true, json: false, text: false, multipart: false, formLimit: '16kb' });

  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const known = err instanceof PageError ? err : undefined;
      if (!known || known.status >= 500) deps.logger.error({ err }, 'idporten mock page failed');
      view.page(ctx, known?.status ?? 500, 'error.njk', { message: MOCK_MESSAGES[known?.messageId ?? 'serverError'] });
    }
  });

  async function load(ctx: Context): Promise<Details> {
    let details: Details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      if (err instanceof oidcErrors.SessionNotFound) throw new PageError(410, 'expired', { cause: err });
      throw err;
    }
    if (details.uid !== ctx.params.uid) throw new PageError(400, 'badRequest');
    return details;
  }

  const finish = async (ctx: Context, result: InteractionResults) => {
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(redirectTo);
  };

  function show(ctx: Context, details: Details, status = 200, errorId?: MockMessageId, form: Form = {}) {
    const params = details.params as Record<string, unknown>;
    const minimum = requestedMinimum(params.acr_values);
    const eids = offeredEids(minimum);
    const chosenPerson = form.person ?? SYNTHETIC_PERSONS[0]!.pid;
    view.page(ctx, status, 'login.njk', {
      heading: fill(MOCK_MESSAGES.loginHeading, { client: String(params.client_id) }),
      actionUrl: `${basePath}/interaction/${details.uid}/login`,
      csrf: csrf.tokenFor(details.uid),
      requested: idportenAcr(minimum),
      persons: SYNTHETIC_PERSONS.map((p) => ({ ...p, checked: p.pid === chosenPerson })),
      typedPid: form.pid ?? '',
      eids: eids.map((e) => ({ ...e, acr: idportenAcr(e.level), checked: e.id === (form.eid ?? eids[0]!.id) })),
      minidHidden: !eids.includes(MINID),
      misbehaviours: [{ id: 'lower-level', label: LOWER_LEVEL }, ...Object.entries(TOKEN_MISBEHAVIOURS).map(([id, label]) => ({ id, label }))],
      error: errorId ? MOCK_MESSAGES[errorId] : undefined,
      errorField: errorId === 'pidInvalid' ? 'pid' : errorId === 'eidUnavailable' ? 'eid' : undefined,
    });
  }

  router.get('/', async (ctx) => {
    const details = await load(ctx);
    if (details.prompt.name === 'login') return show(ctx, details);
    if (details.prompt.name === 'consent') return grantConsent(ctx, details);
    throw new PageError(400, 'badRequest');
  });

  router.post('/login', async (ctx) => {
    if (!ctx.is('application/x-www-form-urlencoded')) throw new PageError(400, 'badRequest');
    try {
      await parseForm(ctx, async () => undefined);
    } catch (err) {
      throw new PageError((err as { status?: number }).status === 413 ? 413 : 400, 'badRequest', { cause: err });
    }
    const details = await load(ctx);
    const form = (ctx.request.body ?? {}) as Form;
    if (!csrf.verify(details.uid, form._csrf)) throw new PageError(403, 'csrf');
    if (details.prompt.name !== 'login') return ctx.redirect(`${basePath}/interaction/${details.uid}`);
    return submit(ctx, details, form);
  });

  async function submit(ctx: Context, details: Details, form: Form) {
    const params = details.params as Record<string, unknown>;
    const action = form.action ?? 'login';
    if (action === 'cancel') {
      return finish(ctx, { error: 'access_denied', error_description: 'The end user cancelled the login in ID-porten' });
    }
    if (action === 'error') {
      return finish(ctx, { error: 'server_error', error_description: 'ID-porten could not complete the login (simulated by the mock)' });
    }
    const typed = (form.pid ?? '').replace(/\s+/g, '');
    const pid = typed || form.person;
    if (!pid) return show(ctx, details, 400, 'personMissing', form);
    if (!isNorwegianId(pid)) return show(ctx, details, 400, 'pidInvalid', form);
    const minimum = requestedMinimum(params.acr_values);
    const accountId = toAccountId(pid, pickLocale(params.ui_locales));
    if (action === 'misbehave' && isTokenMisbehaviour(form.misbehaviour)) {
      // A faithful login with the chosen eID; the token endpoint then spoils its id_token.
      const offered = offeredEids(minimum);
      const chosen = eidById(form.eid);
      const eid = chosen && offered.includes(chosen) ? chosen : offered[0]!;
      deps.misbehaviours.arm(form.misbehaviour);
      return finish(ctx, { login: { accountId, acr: idportenAcr(eid.level), amr: [...eid.amr], remember: true } });
    }
    if (action === 'misbehave') {
      if (form.misbehaviour !== undefined && form.misbehaviour !== 'lower-level') throw new PageError(400, 'badRequest');
      // MinID's answer whatever was chosen: one level below the minimum, for the RP to refuse.
      return finish(ctx, { login: { accountId, acr: idportenAcr(levelBelow(minimum)), amr: [...MINID.amr], remember: true } });
    }
    if (action !== 'login') throw new PageError(400, 'badRequest');
    const eid = eidById(form.eid);
    if (!eid || !offeredEids(minimum).includes(eid)) return show(ctx, details, 400, 'eidUnavailable', form);
    return finish(ctx, { login: { accountId, acr: idportenAcr(eid.level), amr: [...eid.amr], remember: true } });
  }

  /** Only reached with prompt=consent: ID-porten asks nothing, so grant what the request names. */
  async function grantConsent(ctx: Context, details: Details) {
    const params = details.params as Record<string, unknown>;
    const accountId = details.session?.accountId;
    if (!accountId) throw new PageError(400, 'badRequest');
    const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
    const grant = existing ?? new provider.Grant({ accountId, clientId: String(params.client_id) });
    grant.addOIDCScope(String(params.scope ?? 'openid'));
    const grantId = await grant.save();
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.redirect(redirectTo);
  }

  return router;
}
