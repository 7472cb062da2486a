/**
 * The development outbox page, /dev/outbox: the mail the service would have sent, newest first, so a
 * newcomer can read a verification code without a mail server. Rule: mounted only outside production
 * and only while mail goes to the outbox (src/service/local-accounts.ts decides).
 */
import Router from '@koa/router';
import { negotiateLocale } from '../i18n/locales.js';
import type { Renderer } from '../views/renderer.js';
import { readOutbox } from '../mail/mailer.js';

export function createDevOutboxRouter(renderer: Renderer, outboxDir: string): Router {
  const router = new Router();
  router.get('/dev/outbox', async (ctx) => {
    const locale = negotiateLocale({ acceptLanguage: ctx.get('accept-language') });
    ctx.type = 'html';
    ctx.body = renderer.render('dev/outbox.njk', locale, { messages: await readOutbox(outboxDir) });
  });
  return router;
}
