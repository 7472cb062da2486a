/**
 * The one error handler for our own routes. Rules: an AppError is answered with its status and a
 * localised page (or JSON for clients that ask for it); an error that means the database is away
 * (src/store/db-errors.ts) or a missed request deadline is a 503 with Retry-After and the "try again
 * shortly" page — for a protocol request in oidc-provider's format (JSON unless the client prefers HTML,
 * error `temporarily_unavailable`); anything else is logged with its cause and answered with a generic
 * 500 page. Never a stack trace or internal message in a response.
 */
import type { Middleware } from 'koa';
import { AppError, NotFoundError, ServiceUnavailableError } from '../errors.js';
import { negotiateLocale, type Locale } from '../i18n/locales.js';
import type { Renderer } from '../views/renderer.js';
import { describeDatabaseError, isDatabaseUnavailable } from '../store/db-errors.js';
import { renderUnavailablePage } from '../views/unavailable-page.js';
import { PAGE_CSP } from './security-headers.js';
import { UNAVAILABLE_DESCRIPTION } from './provider-mount.js';

export interface ErrorHandlerOptions {
  retryAfterSeconds: number;
}

function classify(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (isDatabaseUnavailable(err)) return new ServiceUnavailableError(err);
  return undefined;
}

export function errorHandler(renderer: Renderer, options: ErrorHandlerOptions): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && (ctx.body === undefined || ctx.body === null)) throw new NotFoundError();
    } catch (err) {
      const appError = classify(err);
      const status = appError?.status ?? 500;
      if (appError instanceof ServiceUnavailableError) {
        ctx.state.log?.warn({ error: appError.code, reason: appError.message, cause: describeDatabaseError(appError.cause) }, 'request answered 503');
      } else if (status >= 500) ctx.state.log?.error({ err }, 'request failed');
      else ctx.state.log?.info({ code: appError?.code, cause: appError?.cause ? String(appError.cause) : undefined }, 'request refused');
      ctx.status = status;
      const unavailable = appError instanceof ServiceUnavailableError;
      if (unavailable) ctx.set('Retry-After', String(options.retryAfterSeconds));
      // oidc-provider's own choice of format (JSON first) at its endpoints; HTML first on our pages.
      const wantsJson = ctx.state.protocolRequest ? ctx.accepts('json', 'html') === 'json' : ctx.accepts('html', 'json') === 'json';
      if (wantsJson) {
        ctx.body =
          unavailable && ctx.state.protocolRequest
            ? { error: 'temporarily_unavailable', error_description: UNAVAILABLE_DESCRIPTION }
            : { error: appError?.code ?? 'server_error', message: appError?.expose ? appError.message : unavailable ? UNAVAILABLE_DESCRIPTION : 'internal error' };
        return;
      }
      // Inside an interaction the page's language (ui_locales) was already settled; keep it.
      const uiLocales = typeof ctx.query.ui_locales === 'string' ? ctx.query.ui_locales : undefined;
      const locale: Locale = ctx.state.locale ?? negotiateLocale({ uiLocales, acceptLanguage: ctx.get('accept-language') });
      ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.type = 'html';
      if (unavailable) {
        ctx.body = renderUnavailablePage(renderer, locale, ctx);
        return;
      }
      const messageId = appError?.messageId ?? 'error.internal';
      const titleId = appError instanceof NotFoundError ? 'error.not_found_title' : 'error.title';
      ctx.body = renderer.render('error.njk', locale, { titleId, messageId, detail: appError?.code });
    }
  };
}
