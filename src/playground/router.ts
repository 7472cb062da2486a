/**
 * The playground's pages under /playground. Rules:
 * - every page is drawn server-side (strict CSP, no script); every POST is a small form with a CSRF
 *   token bound to the browser's playground session;
 * - a result is only ever read from the session that made the request;
 * - a provider that does not answer gives a 503 page with Retry-After, never a hang or a stack trace;
 * - the clients offered are the built-in ones and every relying party registered now (clients file, admin
 *   API or CLI), read afresh for each page, so one added a moment ago on any instance is there; only their
 *   id, name, redirect URIs and authentication method are kept, never a secret.
 */
import Router from '@koa/router';
import { koaBody } from 'koa-body';
import type { Context } from 'koa';
import { AppError, BadRequestError, CsrfError } from '../errors.js';
import { negotiateLocale, isLocale, supportedLocales } from '../i18n/locales.js';
import type { Renderer } from '../views/renderer.js';
import type { Logger } from '../logger.js';
import { PLAYGROUND_CONFIDENTIAL, PLAYGROUND_PUBLIC, playgroundLoggedOut, type PlaygroundKeys } from './clients.js';
import { createRelyingParty } from './relying-party.js';
import { defaultSpec, parseSpec, type RequestSpec } from './request-spec.js';
import { createRuns, type PreparedRequest } from './runs.js';
import { createSessions, type CsrfTokens, type PlaygroundStorage, type SessionHandle } from './session.js';
import { nextStep, scenarioById, scenariosFor } from './scenarios.js';
import type { SessionPolicy } from '../policies/session.js';
import { builderView, resultView, scenarioView } from './views.js';

export interface ConfiguredClient {
  client_id: string;
  client_name?: string | undefined;
  redirect_uris?: string[] | undefined;
  token_endpoint_auth_method?: string | undefined;
}

/** What the playground keeps of a registered client: a relying party (it has redirect URIs), without its secrets. */
export function relyingPartyEntry(metadata: Record<string, unknown> & { client_id: string }): ConfiguredClient | undefined {
  const uris = metadata.redirect_uris;
  if (!Array.isArray(uris) || !uris.length || !uris.every((u) => typeof u === 'string')) return undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { client_id: metadata.client_id, client_name: text(metadata.client_name), redirect_uris: uris as string[], token_endpoint_auth_method: text(metadata.token_endpoint_auth_method) };
}

export interface PlaygroundDeps {
  issuer: string;
  production: boolean;
  renderer: Renderer;
  csrf: CsrfTokens;
  storage: PlaygroundStorage;
  keys: PlaygroundKeys;
  builtInClients: ConfiguredClient[];
  /** The registered clients' metadata as stored now (the composition root reads the client store). */
  registeredClients: () => Promise<Array<Record<string, unknown> & { client_id: string }>>;
  bodyLimitBytes: number;
  /** The provider's session timeouts, which the "inactive" scenario names and waits out. */
  sessions: SessionPolicy;
  logger: Logger;
}

class PlaygroundUnavailable extends AppError {
  constructor(cause: unknown) {
    super('playground_unavailable', 503, 'playground.unavailable', { cause });
  }
}

export function createPlaygroundRouter(deps: PlaygroundDeps): Router {
  const router = new Router({ prefix: '/playground' });
  const rp = createRelyingParty(deps.issuer, deps.keys);
  const sessions = createSessions(deps.storage, deps.csrf);
  const builtIn = (id: string) => deps.builtInClients.some((c) => c.client_id === id);
  /** The built-in clients, then the registered relying parties as they are now. */
  const allClients = async (): Promise<ConfiguredClient[]> => [
    ...deps.builtInClients,
    ...(await deps.registeredClients()).flatMap((m) => (builtIn(m.client_id) ? [] : (relyingPartyEntry(m) ?? []))),
  ];
  const clientById = async (id: string) => (await allClients()).find((c) => c.client_id === id);
  const confidential = async (id: string) => id === PLAYGROUND_CONFIDENTIAL || (!builtIn(id) && (await clientById(id))?.token_endpoint_auth_method !== 'none');
  const scenarios = scenariosFor({ sessions: deps.sessions });
  const runs = createRuns(deps.issuer, rp, async (id) => (await clientById(id))?.redirect_uris?.[0], confidential, scenarios);
  const parseForm = koaBody({ urlencoded: true, json: false, text: false, multipart: false, formLimit: deps.bodyLimitBytes });

  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (!unreachable(err)) throw err;
      // openid-client could not reach the provider: tell the person, log the cause.
      deps.logger.warn({ err }, 'playground could not reach the provider');
      ctx.set('Retry-After', '5');
      throw new PlaygroundUnavailable(err);
    }
  });

  async function open(ctx: Context): Promise<{ session: SessionHandle; render(view: string, vars: Record<string, unknown>, status?: number): void }> {
    const session = await sessions.load(ctx);
    const lang = typeof ctx.query.lang === 'string' && isLocale(ctx.query.lang) ? ctx.query.lang : session.state.lang;
    if (lang && lang !== session.state.lang) {
      session.state.lang = lang;
      await session.save();
    }
    const locale = negotiateLocale({ uiLocales: lang, acceptLanguage: ctx.get('accept-language') });
    ctx.state.locale = locale;
    return {
      session,
      render(view, vars, status = 200) {
        ctx.status = status;
        ctx.type = 'html';
        ctx.body = deps.renderer.render(`playground/${view}`, locale, {
          ...vars,
          csrf: session.csrfToken,
          production: deps.production,
          languages: supportedLocales,
          pagePath: ctx.path,
        });
      },
    };
  }

  async function form(ctx: Context, session: SessionHandle): Promise<Record<string, unknown>> {
    if (!ctx.is('application/x-www-form-urlencoded')) throw new BadRequestError('expected a form post');
    try {
      await parseForm(ctx, async () => undefined);
    } catch (err) {
      throw new BadRequestError('malformed form body', err);
    }
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    if (!sessions.verifyCsrf(session, body._csrf)) throw new CsrfError();
    return body;
  }

  async function showBuilder(ctx: Context, page: Awaited<ReturnType<typeof open>>, spec: RequestSpec, extra: { prepared?: PreparedRequest; invalid?: string[] } = {}) {
    const metadata = await rp.serverMetadata();
    page.render('builder.njk', builderView({ metadata, spec, clients: await allClients(), builtIn: deps.builtInClients, scenarios, ...extra }), extra.invalid?.length ? 400 : 200);
  }

  router.get('/', async (ctx) => {
    const page = await open(ctx);
    await showBuilder(ctx, page, page.session.state.result?.spec ?? defaultSpec(PLAYGROUND_PUBLIC));
  });

  router.post('/request', async (ctx) => {
    const page = await open(ctx);
    const body = await form(ctx, page.session);
    const metadata = await rp.serverMetadata();
    const { spec, invalid } = parseSpec(body, {
      clientIds: (await allClients()).map((c) => c.client_id),
      scopes: metadata.scopes_supported ?? [],
      acrValues: (metadata.acr_values_supported as string[] | undefined) ?? [],
    });
    if (invalid.length) return showBuilder(ctx, page, spec, { invalid });
    const prepared = await runs.prepare(page.session, spec);
    if (body.run === 'open' && !prepared.external) return redirect(ctx, prepared.authUrl);
    await showBuilder(ctx, page, spec, { prepared });
  });

  router.get('/callback', async (ctx) => {
    const page = await open(ctx);
    const result = await runs.complete(page.session, new URLSearchParams(ctx.querystring));
    if (!result) return page.render('message.njk', { titleId: 'playground.callback.unknown_title', messageId: 'playground.callback.unknown' }, 400);
    redirect(ctx, result.scenario ? `/playground/scenario/${result.scenario.id}` : '/playground/result');
  });

  router.get('/result', async (ctx) => {
    const page = await open(ctx);
    const result = page.session.state.result;
    if (!result) return redirect(ctx, '/playground');
    page.render('result.njk', { ...resultView(result, await allClients()), backchannel: await backchannelFor(page.session) });
  });

  router.post('/action/:kind', async (ctx) => {
    const page = await open(ctx);
    await form(ctx, page.session);
    const result = page.session.state.result;
    if (!result) return redirect(ctx, '/playground');
    const kind = String(ctx.params.kind);
    if (kind === 'refresh' || kind === 'introspect' || kind === 'revoke') {
      await runs[kind](result);
      await page.session.save();
      return redirect(ctx, '/playground/result#actions');
    }
    if (kind === 'logout') {
      const url = await rp.endSessionUrl(result.spec.clientId, {
        ...(result.tokens?.idToken ? { id_token_hint: result.tokens.idToken } : {}),
        post_logout_redirect_uri: playgroundLoggedOut(deps.issuer),
      });
      return redirect(ctx, url.toString());
    }
    const next = resultView(result, await allClients()).followUps[kind as 'step-up' | 'prompt-none' | 'prompt-login'];
    if (!next) throw new BadRequestError(`unknown playground action ${kind}`);
    const prepared = await runs.prepare(page.session, next);
    redirect(ctx, prepared.authUrl);
  });

  // Server to server: no session and no CSRF token; the logout token's signature is what counts.
  router.post('/backchannel-logout', async (ctx) => {
    if (!ctx.is('application/x-www-form-urlencoded')) throw new BadRequestError('expected a form post');
    await parseForm(ctx, async () => undefined);
    const token = (ctx.request.body as Record<string, unknown> | undefined)?.logout_token;
    const verified = typeof token === 'string' ? await rp.verifyLogoutToken(token, deps.builtInClients.map((c) => c.client_id)) : undefined;
    if (!verified) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'not a valid logout token' };
      return;
    }
    await deps.storage.upsert(backchannelKey(verified.sid), { iat: verified.iat } as never, 3600);
    ctx.status = 200;
    ctx.body = '';
  });

  /** The back-channel logout the provider sent for the session of the last result, if any. */
  async function backchannelFor(session: SessionHandle): Promise<{ sid: string; time: string } | undefined> {
    const sid = session.state.result?.idToken?.claims.sid;
    if (typeof sid !== 'string') return undefined;
    const found = (await deps.storage.find(backchannelKey(sid))) as { iat: number } | undefined;
    return found ? { sid, time: new Date(found.iat * 1000).toISOString() } : undefined;
  }

  router.get('/logged-out', async (ctx) => {
    const page = await open(ctx);
    page.render('logged-out.njk', { hasRequest: Boolean(page.session.state.result), backchannel: await backchannelFor(page.session) });
  });

  router.post('/scenario/:id', async (ctx) => {
    const page = await open(ctx);
    await form(ctx, page.session);
    const scenario = scenarioById(scenarios, String(ctx.params.id));
    if (!scenario) throw new BadRequestError('unknown scenario');
    page.session.state.scenario = { id: scenario.id, observations: [] };
    await page.session.save();
    redirect(ctx, `/playground/scenario/${scenario.id}`);
  });

  router.get('/scenario/:id', async (ctx) => {
    const page = await open(ctx);
    const scenario = scenarioById(scenarios, String(ctx.params.id));
    if (!scenario) throw new BadRequestError('unknown scenario');
    const progress = page.session.state.scenario?.id === scenario.id ? page.session.state.scenario : undefined;
    page.render('scenario.njk', scenarioView(scenario, progress?.observations, page.session.state.result));
  });

  router.post('/scenario/:id/step', async (ctx) => {
    const page = await open(ctx);
    await form(ctx, page.session);
    const scenario = scenarioById(scenarios, String(ctx.params.id));
    const progress = page.session.state.scenario;
    if (!scenario || progress?.id !== scenario.id) return redirect(ctx, `/playground/scenario/${String(ctx.params.id)}`);
    const step = nextStep(scenario, progress.observations);
    const planned = scenario.steps[step];
    if (!planned) return redirect(ctx, `/playground/scenario/${scenario.id}`);
    const prepared = await runs.prepare(page.session, planned.spec, { id: scenario.id, step });
    redirect(ctx, prepared.authUrl);
  });

  return router;
}

/** A network failure or timeout talking to the provider (anywhere in the cause chain), not a bug of ours. */
function unreachable(err: unknown): boolean {
  for (let e = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth += 1) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.message === 'fetch failed') return true;
    if (typeof e.code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|UND_ERR_|OAUTH_TIMEOUT|OAUTH_RESPONSE_IS_NOT_CONFORM)/.test(e.code)) return true;
  }
  return false;
}

const backchannelKey = (sid: string) => `backchannel-logout:${sid}`;

function redirect(ctx: Context, to: string): void {
  ctx.status = 303;
  ctx.redirect(to);
}
