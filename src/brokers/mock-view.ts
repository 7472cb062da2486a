/**
 * Draws a mock upstream's pages (views/mock/<name>) with its own nunjucks environment. Rules:
 * auto-escaping on; every page gets the mock's message table as `m` and a strict CSP (no inline scripts
 * or styles; our stylesheet comes from 'self'); pages are never cached.
 */
import path from 'node:path';
import nunjucks from 'nunjucks';
import type { Context } from 'koa';
import { appRoot } from '../app-root.js';
import { PAGE_CSP } from '../http/security-headers.js';

export interface MockView {
  /** Renders `view` into ctx as an HTML page with the given status. */
  page(ctx: Context, status: number, view: string, vars?: Record<string, unknown>): void;
}

export function createMockPages(viewsDir: string, messages: object): MockView {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(viewsDir, { noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  return {
    page(ctx, status, view, vars = {}) {
      ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.set('Cache-Control', 'no-store');
      ctx.status = status;
      ctx.type = 'html';
      ctx.body = env.render(view, { ...vars, m: messages });
    },
  };
}

export const mockViewsDir = (name: string) => path.join(appRoot(), 'views', 'mock', name);
