/**
 * The pages oidc-provider renders itself (errors shown to the user, the logout confirmation and the
 * logged-out page), drawn with our templates in the user's language.
 * Rules:
 * - an error page explains the OIDC error code in the person's language, and keeps the library's
 *   (English, user-safe) description only as a detail; never a stack trace or internal message;
 * - the language chosen for the logout confirmation (`ui_locales`, RP-Initiated Logout §2) carries over to
 *   the logged-out page: oidc-provider's confirm step keeps no parameters, so the locale rides in a short,
 *   harmless cookie scoped to /session/end;
 * - an error that means the database is away gets the localised "try again shortly" page instead
 *   (src/http/provider-mount.ts makes that answer a 503 with Retry-After).
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { isLocale, negotiateLocale, type Locale } from '../i18n/locales.js';
import { isMessageId } from '../i18n/translate.js';
import type { Renderer } from '../views/renderer.js';
import { isDatabaseUnavailable } from '../store/db-errors.js';
import { renderUnavailablePage } from '../views/unavailable-page.js';

const LOGOUT_LOCALE_COOKIE = 'nordlys_logout_locale';
const LOGOUT_LOCALE_SECONDS = 600;

export function localeOf(ctx: KoaContextWithOIDC): Locale {
  const params = ctx.oidc?.params as Record<string, unknown> | undefined;
  const uiLocales = typeof params?.ui_locales === 'string' ? params.ui_locales : undefined;
  return negotiateLocale({ uiLocales, acceptLanguage: ctx.get('accept-language') });
}

/** The message that explains an OIDC error code to a person, or the generic one for codes we do not know. */
export function oidcErrorMessageId(code: string): string {
  const id = `oidc_error.${code}`;
  return isMessageId(id) ? id : 'error.oidc';
}

export function createProviderPages(renderer: Renderer) {
  return {
    async renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }, err?: unknown): Promise<void> {
      // An error of ours may name its own message (e.g. too many logins started, src/interactions/auth-admission.ts).
      const own = (err as { messageId?: unknown } | undefined)?.messageId;
      ctx.type = 'html';
      if (isDatabaseUnavailable(err)) {
        ctx.body = renderUnavailablePage(renderer, localeOf(ctx), ctx);
        return;
      }
      ctx.body = renderer.render('error.njk', localeOf(ctx), {
        titleId: 'error.title',
        messageId: isMessageId(own) ? own : oidcErrorMessageId(out.error),
        detail: out.error_description ? `${out.error}: ${out.error_description}` : out.error,
      });
    },

    async logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
      const client = ctx.oidc.client;
      const locale = localeOf(ctx);
      ctx.cookies.set(LOGOUT_LOCALE_COOKIE, locale, { path: '/session/end', httpOnly: true, sameSite: 'lax', signed: false, overwrite: true, maxAge: LOGOUT_LOCALE_SECONDS * 1000 });
      ctx.type = 'html';
      ctx.body = renderer.render('logout.njk', locale, {
        logoutForm: form,
        clientName: client?.clientName ?? client?.clientId,
      });
    },

    async postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
      const client = ctx.oidc.client;
      const remembered = ctx.cookies.get(LOGOUT_LOCALE_COOKIE, { signed: false });
      ctx.cookies.set(LOGOUT_LOCALE_COOKIE, null, { path: '/session/end', overwrite: true });
      const locale = isLocale(remembered) ? remembered : localeOf(ctx);
      ctx.type = 'html';
      ctx.body = renderer.render('logged-out.njk', locale, { clientName: client?.clientName ?? client?.clientId });
    },
  };
}
