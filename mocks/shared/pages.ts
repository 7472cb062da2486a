/**
 * Draws a mock's pages with nunjucks directly, from views/mock/<name>/ and the one layout both mocks
 * share (views/mock/layout.njk); nothing of the product's renderer. Rules: auto-escaping on; every page
 * gets the mock's message table as `m` and its second language as `lang`; a strict CSP (no inline
 * scripts or styles; the stylesheet comes from 'self'); pages are never cached.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import type { Context, Middleware } from 'koa';

export const MOCK_PAGE_CSP = "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";

/** The project folder: two levels up from mocks/shared (sources), three from dist/mocks/shared (the build). */
const twoUp = fileURLToPath(new URL('../../', import.meta.url));
const PROJECT = path.basename(twoUp) === 'dist' ? path.dirname(twoUp) : twoUp;
const VIEWS = path.join(PROJECT, 'views', 'mock');

export interface MockPages {
  /** Renders `view` into ctx as an HTML page with the given status. */
  page(ctx: Context, status: number, view: string, vars?: Record<string, unknown>): void;
}

export function createMockPages(name: string, messages: object, lang: string): MockPages {
  const loader = new nunjucks.FileSystemLoader([path.join(VIEWS, name), VIEWS]);
  const env = new nunjucks.Environment(loader, { autoescape: true, throwOnUndefined: false, trimBlocks: true, lstripBlocks: true });
  return {
    page(ctx, status, view, vars = {}) {
      ctx.set('Content-Security-Policy', MOCK_PAGE_CSP);
      ctx.set('Cache-Control', 'no-store');
      ctx.status = status;
      ctx.type = 'html';
      ctx.body = env.render(view, { ...vars, m: messages, lang });
    },
  };
}

/**
 * `GET /static/style.css`, the stylesheet the pages link, for a mock on its own port. Mounted in our
 * app, that path is the app's own and never reaches the mock.
 */
export function stylesheet(): Middleware {
  const css = fs.readFileSync(path.join(PROJECT, 'public', 'style.css'));
  return async (ctx, next) => {
    if (ctx.path !== '/static/style.css' || ctx.method !== 'GET') return next();
    ctx.type = 'text/css';
    ctx.body = css;
  };
}
