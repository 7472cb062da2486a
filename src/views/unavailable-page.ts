/**
 * The "try again shortly" page, shown while the database is away (our pages and oidc-provider's alike).
 * Rules: a GET can simply be repeated, so the page links to the same address — only a path on this
 * server (never `//host`, which a browser would read as another site); a POST is not repeated behind the
 * user's back, the page asks them to send the form again instead.
 */
import type { Locale } from '../i18n/locales.js';
import type { Renderer } from './renderer.js';

interface RequestLike {
  method: string;
  originalUrl: string;
}

export function retryUrlOf(request: RequestLike): string | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  const url = request.originalUrl;
  return url.startsWith('/') && !url.startsWith('//') && !url.startsWith('/\\') ? url : undefined;
}

export function renderUnavailablePage(renderer: Renderer, locale: Locale, request: RequestLike): string {
  return renderer.render('unavailable.njk', locale, { retryUrl: retryUrlOf(request) });
}
