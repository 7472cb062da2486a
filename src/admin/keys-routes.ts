/**
 * Signing keys through the admin API: list, rotate, revoke, over the same functions as `keys list|rotate|
 * revoke` (src/cli/keys.ts). Rules: never a private key in an answer (kid, alg, state and times only);
 * every call audited with the admin client's id; running instances take up a change within
 * KEY_REFRESH_SECONDS, as after the CLI.
 */
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Clock } from '../clock.js';
import type { Database } from '../store/db.js';
import type { AuditLog } from '../store/audit.js';
import { adminAuditRecorder } from './audit-record.js';
import { describeKeys, revokeKey, rotateKeys } from '../cli/keys.js';

export interface KeyRoutesSettings {
  /** KEY_ENCRYPTION_KEY, when configured (the key-encryption key of the private keys). */
  keyEncryptionKey: string | undefined;
  /** KEY_PUBLISH_SECONDS: how long a new key is published before it signs. */
  publishSeconds: number;
  /** KEY_REFRESH_SECONDS: how soon running instances take a change up. */
  refreshSeconds: number;
  /** How long a superseded key must stay published (maxSignedTokenSeconds). */
  verifySeconds: number;
}

export interface KeyRoutesDeps {
  settings: KeyRoutesSettings;
  db: Database;
  clock: Clock;
  audit: AuditLog;
}

export function addKeyRoutes(router: Router, guard: Middleware, deps: KeyRoutesDeps): void {
  const { settings, db, clock, audit } = deps;
  const kek = settings.keyEncryptionKey;
  const { verifySeconds } = settings;
  const record = adminAuditRecorder(audit, 'keys');
  const refreshNote = `running instances take the change up within KEY_REFRESH_SECONDS (${settings.refreshSeconds} s)`;

  router.get('/keys', guard, async (ctx) => {
    const keys = await describeKeys(db, clock, verifySeconds, kek);
    await record(ctx, 'listed', { count: keys.length });
    ctx.body = { keys };
  });
  router.post('/keys/rotate', guard, async (ctx) => {
    const created = await rotateKeys(db, clock, settings.publishSeconds, kek);
    await record(ctx, 'rotated', { kids: created.map((k) => k.kid).join(',') });
    ctx.body = { created: created.map((k) => ({ kid: k.kid, alg: k.alg, signs_from: new Date(k.activatesAt).toISOString() })), note: refreshNote };
  });
  router.post('/keys/:kid/revoke', guard, async (ctx) => {
    const { revoked, replacement } = await revokeKey(db, clock, ctx.params.kid!, verifySeconds, kek);
    await record(ctx, 'revoked', { kid: revoked.kid, ...(replacement ? { replacement: replacement.kid } : {}) });
    ctx.body = { revoked: revoked.kid, ...(replacement ? { replacement: { kid: replacement.kid, alg: replacement.alg } } : {}), note: refreshNote };
  });
}
