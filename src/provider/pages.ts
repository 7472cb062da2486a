/**
 * The pages oidc-provider renders itself (errors shown to the user, the logout confirmation and the
 * logged-out page), drawn with our templates in the user's language.
 * Rules: an error page never shows a stack trace or internal message — only the OIDC error code and
 * the library's user-safe description.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { negotiateLocale, type Locale } from '../i18n/locales.js';
import type { Renderer } from '../interactions/render.js';
import { isMessageId } from '../i18n/translate.js';

export function localeOf(ctx: KoaContextWithOIDC): Locale {
  const params = ctx.oidc?.params as Record<string, unknown> | undefined;
  const uiLocales = typeof params?.ui_locales === 'string' ? params.ui_locales : undefined;
  return negotiateLocale({ uiLocales, acceptLanguage: ctx.get('accept-language') });
}

export function createProviderPages(renderer: Renderer) {
  return {
    async renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }, error?: unknown): Promise<void> {
      // An error of ours may name its own message (e.g. too many logins started, src/interactions/auth-admission.ts).
      const own = (error as { messageId?: unknown } | undefined)?.messageId;
      ctx.type = 'html';
      ctx.body = renderer.render('error.njk', localeOf(ctx), {
        titleId: 'error.title',
        messageId: isMessageId(own) ? own : 'error.oidc',
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
