/**
 * The pages oidc-provider renders itself (errors shown to the user, the logout confirmation and the
 * logged-out page), drawn with our templates in the user's language.
 * Rules: an error page never shows a stack trace or internal message — only the OIDC error code and
 * the library's user-safe description; an error that means the database is away gets the localised
 * "try again shortly" page instead (src/http/provider-mount.ts makes that answer a 503 with Retry-After).
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { negotiateLocale, type Locale } from '../i18n/locales.js';
import type { Renderer } from '../interactions/render.js';
import { isDatabaseUnavailable } from '../store/db-errors.js';
import { renderUnavailablePage } from '../views/unavailable-page.js';

export function localeOf(ctx: KoaContextWithOIDC): Locale {
  const params = ctx.oidc?.params as Record<string, unknown> | undefined;
  const uiLocales = typeof params?.ui_locales === 'string' ? params.ui_locales : undefined;
  return negotiateLocale({ uiLocales, acceptLanguage: ctx.get('accept-language') });
}

export function createProviderPages(renderer: Renderer) {
  return {
    async renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }, err?: unknown): Promise<void> {
      ctx.type = 'html';
      if (isDatabaseUnavailable(err)) {
        ctx.body = renderUnavailablePage(renderer, localeOf(ctx), ctx);
        return;
      }
      ctx.body = renderer.render('error.njk', localeOf(ctx), {
        titleId: 'error.title',
        messageId: 'error.oidc',
        detail: out.error_description ? `${out.error}: ${out.error_description}` : out.error,
      });
    },

    async logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
      const client = ctx.oidc.client;
      ctx.type = 'html';
      ctx.body = renderer.render('logout.njk', localeOf(ctx), {
        logoutForm: form,
        clientName: client?.clientName ?? client?.clientId,
      });
    },

    async postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
      const client = ctx.oidc.client;
      ctx.type = 'html';
      ctx.body = renderer.render('logged-out.njk', localeOf(ctx), { clientName: client?.clientName ?? client?.clientId });
    },
  };
}
