/**
 * Our interaction pages under /interaction/:uid (oidc-provider's interactions.url). Rules:
 * - every page is drawn from the interaction oidc-provider holds (load details, check the prompt,
 *   finish with interactionResult); nothing is kept in process memory;
 * - every POST carries a CSRF token bound to the interaction and has a size-limited, form-only body;
 * - an expired or unknown interaction gets a page with a way to start again, never a dead end;
 * - a wrong password and an unknown address get the same answer (no account enumeration);
 * - leaving a method (the method list shown again, another method chosen, abort) is announced to every
 *   method's routes (onLeave), so an order still running upstream is cancelled there.
 */
import Router from '@koa/router';
import { koaBody } from 'koa-body';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors as oidcErrors } from 'oidc-provider';
import { negotiateLocale } from '../i18n/locales.js';
import { BadRequestError, CsrfError, PayloadTooLargeError } from '../errors.js';
import type { Renderer } from '../views/renderer.js';
import type { Csrf } from './csrf.js';
import type { RestartStore } from './restart.js';
import { createPasswordLogin, type PasswordLoginDeps } from './password-login.js';
import { createConsent } from './consent.js';
import type { Details, InteractionContext, InteractionRoutes } from './interaction-context.js';
import type { MethodRegistry } from '../brokers/registry.js';
import { adapterRequestScope } from '../store/oidc-adapter.js';

export interface InteractionDeps extends PasswordLoginDeps {
  getProvider: () => Provider;
  renderer: Renderer;
  csrf: Csrf;
  restart: RestartStore;
  bodyLimitBytes: number;
  /** The login methods (src/brokers/registry.ts), handed to every page through the context. */
  methods: MethodRegistry;
}

export function createInteractionRouter(deps: InteractionDeps, extensions: InteractionRoutes[] = []): Router {
  const router = new Router({ prefix: '/interaction/:uid' });
  // Each page is one request to the adapter, as the provider's own routes are: loading the interaction
  // reads its Session (and Grant) in the same statement (store/payload-reads.ts).
  router.use(adapterRequestScope);
  const passwordLogin = createPasswordLogin(deps);
  const consent = createConsent(deps.audit);

  const parseForm = koaBody({ urlencoded: true, json: false, text: false, multipart: false, formLimit: deps.bodyLimitBytes });
  const formBody = async (ctx: Context, next: () => Promise<unknown>) => {
    if (!ctx.is('application/x-www-form-urlencoded')) throw new BadRequestError('expected a form post');
    // Parsed once: a route that passes the request on (next()) to another must not read the stream twice.
    if (ctx.request.body !== undefined && ctx.state.formParsed) return next();
    try {
      await parseForm(ctx, async () => undefined);
      ctx.state.formParsed = true;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 413) throw new PayloadTooLargeError(err);
      throw new BadRequestError('malformed form body', err);
    }
    return next();
  };

  /** Loads the interaction or renders the "expired" page; returns undefined when it rendered. */
  async function load(ctx: Context): Promise<InteractionContext | undefined> {
    const uid = String(ctx.params.uid);
    const provider = deps.getProvider();
    let details: Details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      if (err instanceof oidcErrors.SessionNotFound) {
        const restartUrl = await deps.restart.restartUrl(ctx, uid);
        const uiLocales = restartUrl ? (new URL(restartUrl).searchParams.get('ui_locales') ?? undefined) : undefined;
        const locale = negotiateLocale({ uiLocales, acceptLanguage: ctx.get('accept-language') });
        ctx.status = 410;
        ctx.type = 'html';
        ctx.body = deps.renderer.render('expired.njk', locale, { restartUrl });
        return undefined;
      }
      throw err;
    }
    if (details.uid !== uid) throw new BadRequestError('interaction id mismatch');
    const params = details.params as Record<string, unknown>;
    const locale = negotiateLocale({
      uiLocales: typeof params.ui_locales === 'string' ? params.ui_locales : undefined,
      acceptLanguage: ctx.get('accept-language'),
    });
    ctx.state.locale = locale;
    const clientId = String(params.client_id);
    const client = await provider.Client.find(clientId);
    const csrfToken = deps.csrf.tokenFor(uid);
    const clientName = client?.clientName ?? clientId;
    const finishUrl = async (result: Record<string, unknown>): Promise<string> => {
      // remember: false makes the session cookie last until the browser closes rather than until the
      // session's own end, so a timed-out session can still be recognised and explained (session-policy.ts).
      const login = result.login as Record<string, unknown> | undefined;
      const final = login ? { ...result, login: { remember: false, ...login } } : result;
      return provider.interactionResult(ctx.req, ctx.res, final, { mergeWithLastSubmission: false });
    };
    return {
      ctx,
      provider,
      client: client as unknown as Record<string, unknown> | undefined,
      details,
      clientId,
      methods: deps.methods,
      locale,
      uid,
      csrfToken,
      clientName,
      render(view, vars) {
        ctx.type = 'html';
        ctx.body = deps.renderer.render(view, locale, { csrf: csrfToken, clientName, uid, ...vars });
      },
      finishUrl,
      async finish(result) {
        const redirectTo = await finishUrl(result);
        ctx.status = 303;
        ctx.redirect(redirectTo);
      },
    };
  }

  const leaveListeners: Array<(ic: InteractionContext) => Promise<void>> = [];
  const left = async (ic: InteractionContext) => {
    for (const listener of leaveListeners) await listener(ic);
  };

  function checkCsrf(ic: InteractionContext): void {
    const body = ic.ctx.request.body as Record<string, unknown> | undefined;
    if (!deps.csrf.verify(ic.uid, body?._csrf)) throw new CsrfError();
  }

  router.get('/', async (ctx) => {
    const ic = await load(ctx);
    if (!ic) return;
    const prompt = ic.details.prompt.name;
    if (prompt === 'login') {
      await left(ic);
      await deps.restart.remember(ctx, ic.uid, ic.details.params as Record<string, unknown>);
      return passwordLogin.show(ic);
    }
    if (prompt === 'consent') return consent.show(ic);
    throw new BadRequestError(`unsupported prompt ${prompt}`);
  });

  router.post('/login', formBody, async (ctx) => {
    const ic = await load(ctx);
    if (!ic) return;
    checkCsrf(ic);
    if (ic.details.prompt.name !== 'login') return ctx.redirect(`/interaction/${ic.uid}`);
    return passwordLogin.submit(ic);
  });

  router.post('/consent', formBody, async (ctx) => {
    const ic = await load(ctx);
    if (!ic) return;
    checkCsrf(ic);
    if (ic.details.prompt.name !== 'consent') return ctx.redirect(`/interaction/${ic.uid}`);
    return consent.submit(ic);
  });

  router.post('/abort', formBody, async (ctx) => {
    const ic = await load(ctx);
    if (!ic) return;
    checkCsrf(ic);
    await left(ic);
    return ic.finish({ error: 'access_denied', error_description: 'End-User aborted the login' });
  });

  const onLeave = (listener: (ic: InteractionContext) => Promise<void>) => void leaveListeners.push(listener);
  for (const extend of extensions) extend(router, { load, checkCsrf, formBody, onLeave, left });
  return router;
}
