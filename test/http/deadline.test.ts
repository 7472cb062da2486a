/**
 * The response deadline and the 503 answers of the error handler, on a bare koa app: a handler that
 * never finishes is answered 503 with Retry-After once the deadline passes — the "try again shortly"
 * page for a browser (a retry link only for a GET on this server), JSON for an API client, the OAuth
 * error format for a protocol request — and whatever the abandoned work does later is only logged.
 */
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import request from 'supertest';
import { errorHandler } from '../../src/http/error-handler.js';
import { deadline } from '../../src/http/deadline.js';
import { createRenderer } from '../../src/views/renderer.js';
import { retryUrlOf } from '../../src/views/unavailable-page.js';
import { en } from '../../src/i18n/messages/en.js';
import { nb } from '../../src/i18n/messages/nb.js';

const renderer = createRenderer(fileURLToPath(new URL('../../views', import.meta.url)));

function app(opts: { protocol?: boolean; work: () => Promise<void>; logs: string[] }) {
  const koa = new Koa();
  koa.use(async (ctx, next) => {
    ctx.state.log = { info: (_o: unknown, msg: string) => opts.logs.push(msg), warn: (_o: unknown, msg: string) => opts.logs.push(msg), error: (_o: unknown, msg: string) => opts.logs.push(msg) };
    await next();
  });
  koa.use(errorHandler(renderer, { retryAfterSeconds: 9 }));
  koa.use(deadline(100));
  koa.use(async (ctx) => {
    if (opts.protocol) ctx.state.protocolRequest = true;
    await opts.work();
    ctx.body = 'late';
  });
  return koa.callback();
}

/** A unit of work the test finishes (or fails) by hand, after the answer has gone out. */
function manual() {
  let finish!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { work: () => done, finish, fail };
}

describe('the response deadline', () => {
  test('a page that hangs is answered 503 with Retry-After and the localised page; its late finish is only logged', async () => {
    const logs: string[] = [];
    const hang = manual();
    const res = await request(app({ work: hang.work, logs })).get('/interaction/abc?x=1').set('accept', 'text/html').set('accept-language', 'nb');
    expect([res.status, res.headers['retry-after']]).toEqual([503, '9']);
    expect(res.text).toContain(nb['unavailable.title']);
    expect(res.text).toContain('href="/interaction/abc?x=1"');
    hang.finish();
    await Promise.resolve();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(logs).toEqual(['request answered 503', 'request finished after its deadline']);
  });

  test('a form post that hangs asks the user to send the form again (nothing is repeated behind their back)', async () => {
    const logs: string[] = [];
    const hang = manual();
    const res = await request(app({ work: hang.work, logs })).post('/interaction/abc/login').set('accept', 'text/html').send('a=b');
    expect(res.status).toBe(503);
    expect(res.text).toContain(en['unavailable.resubmit']);
    expect(res.text).not.toContain(en['unavailable.retry']);
    hang.fail(new Error('database went away'));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(logs).toEqual(['request answered 503', 'request failed after its deadline']);
  });

  test('an API client gets JSON; a protocol request gets the OAuth error temporarily_unavailable', async () => {
    const logs: string[] = [];
    const api = await request(app({ work: () => new Promise(() => undefined), logs })).get('/x').set('accept', 'application/json');
    expect([api.status, api.headers['retry-after'], api.body.error]).toEqual([503, '9', 'temporarily_unavailable']);
    const token = await request(app({ protocol: true, work: () => new Promise(() => undefined), logs })).post('/token');
    expect([token.status, token.headers['retry-after']]).toEqual([503, '9']);
    expect(token.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
  });

  test('work that finishes in time is untouched', async () => {
    const res = await request(app({ work: async () => undefined, logs: [] })).get('/x');
    expect([res.status, res.text]).toEqual([200, 'late']);
  });

  test('the retry link never leaves this server', () => {
    expect(retryUrlOf({ method: 'GET', originalUrl: '/auth?client_id=a' })).toBe('/auth?client_id=a');
    expect(retryUrlOf({ method: 'GET', originalUrl: '//evil.example/x' })).toBeUndefined();
    expect(retryUrlOf({ method: 'GET', originalUrl: '/\\evil.example/x' })).toBeUndefined();
    expect(retryUrlOf({ method: 'POST', originalUrl: '/token' })).toBeUndefined();
  });
});
