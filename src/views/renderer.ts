/**
 * Renders the HTML pages in views/ in the user's language. Rules enforced here:
 * - every template is auto-escaped; only values a template marks `| safe` (oidc-provider's logout form) are not;
 * - `t(id, params?)` translates in the page's locale and throws on an unknown id, so a typo fails the view tests;
 *   `tOr(id, fallback, params?)` is for ids built from data (a scope or claim name) and falls back to that data;
 * - `locale`, `t` and `tOr` are set per render and cannot be overridden by the caller's variables.
 * Templates are read once and cached (noCache: false); rendering is synchronous.
 */
import nunjucks from 'nunjucks';
import type { Locale } from '../i18n/locales.js';
import { isMessageId, translate, type MessageParams } from '../i18n/translate.js';

export interface Renderer {
  render(view: string, locale: Locale, vars: Record<string, unknown>): string;
}

export function createRenderer(viewsDir: string): Renderer {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(viewsDir, { noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });

  return {
    render(view, locale, vars) {
      const t = (id: unknown, params?: MessageParams): string => {
        if (!isMessageId(id)) throw new Error(`Unknown message id in view ${view}: ${String(id)}`);
        return translate(locale, id, params);
      };
      const tOr = (id: unknown, fallback: unknown, params?: MessageParams): string =>
        isMessageId(id) ? translate(locale, id, params) : String(fallback ?? '');
      const name = view.endsWith('.njk') ? view : `${view}.njk`;
      return env.render(name, { ...vars, locale, t, tOr });
    },
  };
}
