/**
 * The one error handler for our own routes. Rules: an AppError is answered with its status and a
 * localised page (or JSON for clients that ask for it); anything else is logged with its cause and
 * answered with a generic 500 page. Never a stack trace or internal message in a response.
 */
import type { Middleware } from 'koa';
import { AppError, NotFoundError } from '../errors.js';
import { negotiateLocale, type Locale } from '../i18n/locales.js';
import type { Renderer } from '../interactions/render.js';
import { PAGE_CSP } from './security-headers.js';

export function errorHandler(renderer: Renderer): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && (ctx.body === undefined || ctx.body === null)) throw new NotFoundError();
    } catch (err) {
      const appError = err instanceof AppError ? err : undefined;
      const status = appError?.status ?? 500;
      if (status >= 500) ctx.state.log?.error({ err }, 'request failed');
      else ctx.state.log?.info({ code: appError?.code, cause: appError?.cause ? String(appError.cause) : undefined }, 'request refused');
      ctx.status = status;
      const messageId = appError?.messageId ?? 'error.internal';
      if (ctx.accepts('html', 'json') === 'json') {
        ctx.body = { error: appError?.code ?? 'server_error', message: appError?.expose ? appError.message : 'internal error' };
        return;
      }
      // Inside an interaction the page's language (ui_locales) was already settled; keep it.
      const locale: Locale = ctx.state.locale ?? negotiateLocale({ acceptLanguage: ctx.get('accept-language') });
      ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.type = 'html';
      const titleId = appError instanceof NotFoundError ? 'error.not_found_title' : 'error.title';
      ctx.body = renderer.render('error.njk', locale, { titleId, messageId, detail: appError?.code });
    }
  };
}
