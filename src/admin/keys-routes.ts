/**
 * Signing keys through the admin API: list, rotate, revoke, over the same functions as `keys list|rotate|
 * revoke` (src/cli/keys.ts). Rules: never a private key in an answer (kid, alg, state and times only);
 * every call audited with the admin client's id; running instances take up a change within
 * KEY_REFRESH_SECONDS, as after the CLI.
 */
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Config } from '../config/index.js';
import type { Clock } from '../clock.js';
import type { Database } from '../store/db.js';
import type { AuditLog } from '../store/audit.js';
import { describeKeys, revokeKey, rotateKeys } from '../cli/keys.js';
import { maxSignedTokenSeconds } from '../provider/create-provider.js';

export interface KeyRoutesDeps {
  config: Config;
  db: Database;
  clock: Clock;
  audit: AuditLog;
}

export function addKeyRoutes(router: Router, guard: Middleware, deps: KeyRoutesDeps): void {
  const { config, db, clock, audit } = deps;
  const kek = config.operations.keyEncryptionKey;
  const verifySeconds = maxSignedTokenSeconds(config.ttl);
  const record = (ctx: Context, event: string, detail: Record<string, string | number | boolean> = {}) =>
    audit.record({
      event: `admin.keys.${event}`,
      outcome: 'success',
      clientId: ctx.state.adminClientId as string,
      ip: ctx.state.clientIp as string | undefined,
      requestId: ctx.state.requestId as string | undefined,
      detail: { actor: 'admin-api', ...detail },
    });
  const refreshNote = `running instances take the change up within KEY_REFRESH_SECONDS (${config.keys.refreshSeconds} s)`;

  router.get('/keys', guard, async (ctx) => {
    const keys = await describeKeys(db, clock, verifySeconds, kek);
    await record(ctx, 'listed', { count: keys.length });
    ctx.body = { keys };
  });
  router.post('/keys/rotate', guard, async (ctx) => {
    const created = await rotateKeys(db, clock, config.keys.publishSeconds, kek);
    await record(ctx, 'rotated', { kids: created.map((k) => k.kid).join(',') });
    ctx.body = { created: created.map((k) => ({ kid: k.kid, alg: k.alg, signs_from: new Date(k.activatesAt).toISOString() })), note: refreshNote };
  });
  router.post('/keys/:kid/revoke', guard, async (ctx) => {
    const { revoked, replacement } = await revokeKey(db, clock, ctx.params.kid!, verifySeconds, kek);
    await record(ctx, 'revoked', { kid: revoked.kid, ...(replacement ? { replacement: replacement.kid } : {}) });
    ctx.body = { revoked: revoked.kid, ...(replacement ? { replacement: { kid: replacement.kid, alg: replacement.alg } } : {}), note: refreshNote };
  });
}
