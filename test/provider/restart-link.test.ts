/**
 * The "Start again" link of an expired login (src/interactions/restart.ts), without a server: kept in a
 * signed cookie of the browser bound to its interaction id and lifetime, and in the database only when
 * the request is too long for a cookie.
 */
import type { Context } from 'koa';
import type { Adapter } from 'oidc-provider';
import { createRestartStore } from '../../src/interactions/restart.js';
import { ManualClock } from '../support/manual-clock.js';

const ISSUER = 'https://id.example.no';
const TTL = 3600;

/** A browser's cookie jar as koa's ctx.cookies sees it (paths are the browser's business, not tested here). */
function browserCtx(jar = new Map<string, string>()): Context & { jar: Map<string, string> } {
  return {
    jar,
    secure: true,
    cookies: {
      get: (name: string) => jar.get(name),
      set: (name: string, value: string) => void jar.set(name, value),
    },
  } as unknown as Context & { jar: Map<string, string> };
}

function memoryAdapter() {
  const rows = new Map<string, unknown>();
  const adapter = {
    upsert: async (id: string, payload: unknown) => void rows.set(id, payload),
    find: async (id: string) => rows.get(id),
  } as unknown as Adapter;
  return { adapter, rows };
}

describe('restart link of an expired login', () => {
  const params = { client_id: 'pub', redirect_uri: 'https://rp.example/cb', state: 'keep-me', scope: 'openid', password: 'never-kept' };

  test('kept in the browser, not the database; only validated parameters, pointing at our /auth', async () => {
    const clock = new ManualClock();
    const { adapter, rows } = memoryAdapter();
    const store = createRestartStore({ adapter, issuer: ISSUER, ttlSeconds: TTL, secret: 's3cret', clock });
    const ctx = browserCtx();
    await store.remember(ctx, 'uid-1', params);
    expect(rows.size).toBe(0);
    const url = new URL((await store.restartUrl(ctx, 'uid-1'))!);
    expect(`${url.origin}${url.pathname}`).toBe(`${ISSUER}/auth`);
    expect(url.searchParams.get('state')).toBe('keep-me');
    expect(url.searchParams.has('password')).toBe(false);
  });

  test('refused for another interaction, when altered, under another secret, and after its lifetime', async () => {
    const clock = new ManualClock();
    const { adapter } = memoryAdapter();
    const store = createRestartStore({ adapter, issuer: ISSUER, ttlSeconds: TTL, secret: 's3cret', clock });
    const ctx = browserCtx();
    await store.remember(ctx, 'uid-1', params);
    expect(await store.restartUrl(ctx, 'uid-2')).toBeUndefined();

    const [endsAt, encoded, mac] = ctx.jar.get('nordlys.restart')!.split('.');
    const altered = Buffer.from(Buffer.from(encoded!, 'base64url').toString().replace('keep-me', 'evil')).toString('base64url');
    expect(await store.restartUrl(browserCtx(new Map([['nordlys.restart', `${endsAt}.${altered}.${mac}`]])), 'uid-1')).toBeUndefined();
    expect(await store.restartUrl(browserCtx(new Map([['nordlys.restart', `${Number(endsAt) + 1000}.${encoded}.${mac}`]])), 'uid-1')).toBeUndefined();

    const other = createRestartStore({ adapter, issuer: ISSUER, ttlSeconds: TTL, secret: 'other', clock });
    expect(await other.restartUrl(ctx, 'uid-1')).toBeUndefined();

    clock.advance(TTL * 1000 - 1);
    expect(await store.restartUrl(ctx, 'uid-1')).toBeDefined();
    clock.advance(1);
    expect(await store.restartUrl(ctx, 'uid-1')).toBeUndefined();
  });

  test('a request too long for a cookie is kept in the database instead', async () => {
    const clock = new ManualClock();
    const { adapter, rows } = memoryAdapter();
    const store = createRestartStore({ adapter, issuer: ISSUER, ttlSeconds: TTL, secret: 's3cret', clock });
    const ctx = browserCtx();
    await store.remember(ctx, 'uid-1', { ...params, claims: JSON.stringify({ id_token: { x: 'y'.repeat(4000) } }) });
    expect(ctx.jar.size).toBe(0);
    expect(rows.size).toBe(1);
    expect(new URL((await store.restartUrl(browserCtx(), 'uid-1'))!).searchParams.get('state')).toBe('keep-me');
  });
});
