/**
 * The route gate changes how much work a request costs, never its answer: the same app with and
 * without gates answers every request alike, and a path outside a router's routes does not run it.
 */
import Koa, { type Middleware } from 'koa';
import compose from 'koa-compose';
import Router from '@koa/router';
import request from 'supertest';
import { gatedRouter, routeSegments } from '../../src/http/route-gate.js';

function routers() {
  const pages = new Router({ prefix: '/interaction/:uid' });
  pages.use(async (ctx, next) => {
    ctx.set('X-Pages', 'yes');
    await next();
  });
  pages.get('/', (ctx) => (ctx.body = `page ${ctx.params.uid}`));
  pages.post('/login', (ctx) => (ctx.body = 'login'));
  const plain = new Router();
  plain.get('/broker/:id/callback', (ctx) => (ctx.body = `callback ${ctx.params.id}`));
  const anything = new Router();
  anything.get('/:lang/help', (ctx) => (ctx.body = `help ${ctx.params.lang}`));
  return [pages, plain, anything];
}

function app(gated: boolean, ran: string[] = []) {
  const koa = new Koa();
  routers().forEach((router, i) => {
    const own: Middleware = compose([
      async (ctx, next) => {
        ran.push(`router ${i}`);
        await next();
      },
      router.routes() as Middleware,
      router.allowedMethods() as Middleware,
    ]);
    koa.use(gated ? gatedRouter(router, own) : own);
  });
  koa.use((ctx) => {
    if (ctx.path === '/token') ctx.body = 'token';
  });
  return koa.callback();
}

describe('route gate', () => {
  test('a router\'s first path segments; a route starting with a parameter opens the gate for every path', () => {
    const [pages, plain, anything] = routers();
    expect([...routeSegments(pages!)!]).toEqual(['interaction']);
    expect([...routeSegments(plain!)!]).toEqual(['broker']);
    expect(routeSegments(anything!)).toBeUndefined();
  });

  test.each([
    ['GET', '/interaction/abc'],
    ['GET', '/INTERACTION/abc'],
    ['POST', '/interaction/abc/login'],
    ['PUT', '/interaction/abc/login'],
    ['OPTIONS', '/interaction/abc/login'],
    ['GET', '/broker/idporten/callback'],
    ['GET', '/en/help'],
    ['POST', '/token'],
    ['GET', '/interactionx'],
    ['GET', '/nowhere'],
    ['PROPFIND', '/token'],
    ['PROPFIND', '/interaction/abc'],
  ])('%s %s: the same answer with and without gates', async (method, path) => {
    const send = (gated: boolean) => request(app(gated))[method.toLowerCase() as 'get'](path).then((r) => [r.status, r.text, r.headers.allow, r.headers['x-pages']]);
    expect(await send(true)).toEqual(await send(false));
  });

  test('a token request passes the gated routers by; only the router that starts with a parameter runs', async () => {
    const ran: string[] = [];
    await request(app(true, ran)).post('/token').expect(200, 'token');
    expect(ran).toEqual(['router 2']);
  });
});
