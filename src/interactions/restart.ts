/**
 * "Start again" for an expired login. When a login page is first shown we keep the authorization
 * request (for INTERACTION_RESTART_TTL_SECONDS, a day by default) under the interaction id, so that when the interaction has expired the user can be
 * sent through the same client's authorization request again instead of hitting a dead end.
 * Rule: only parameters oidc-provider already validated for that client are kept; nothing secret.
 */
import type { Adapter } from 'oidc-provider';

const KEEP = new Set([
  'client_id', 'redirect_uri', 'response_type', 'response_mode', 'scope', 'state', 'nonce', 'code_challenge',
  'code_challenge_method', 'ui_locales', 'claims', 'acr_values', 'max_age', 'login_hint', 'prompt',
]);

export function createRestartStore(adapter: Adapter, issuer: string, ttlSeconds: number) {
  return {
    async remember(uid: string, params: Record<string, unknown>): Promise<void> {
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) {
        if (KEEP.has(k) && typeof v === 'string' && v !== '') query.set(k, v);
      }
      await adapter.upsert(uid, { url: `${issuer}/auth?${query.toString()}` } as never, ttlSeconds);
    },
    async restartUrl(uid: string): Promise<string | undefined> {
      const found = (await adapter.find(uid)) as { url?: string } | undefined;
      return found?.url;
    },
  };
}

export type RestartStore = ReturnType<typeof createRestartStore>;
