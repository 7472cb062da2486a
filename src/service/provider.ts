/**
 * The oidc-provider instance and its renewal on key rotation. Rules: each build reads the signing keys
 * from the store and publishes every key a still-valid token may have been signed with; a running
 * instance re-reads them (reloadKeys, every KEY_REFRESH_SECONDS) and swaps in a new provider only when
 * the key order changed, so rotation needs no restart. Every build gets the same logging, metrics,
 * secret-grace middleware and audit of provider events.
 */
import type Provider from 'oidc-provider';
import type { Configuration } from 'oidc-provider';
import type { Config } from '../config/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import type { Kek } from '../store/key-encryption.js';
import type { AuditLog } from '../store/audit.js';
import type { AccountRepository } from '../store/accounts.js';
import type { ResolvedSecrets } from '../store/secrets.js';
import type { SessionEndings } from '../store/session-expiry.js';
import type { ClientStore } from '../store/clients.js';
import type { ClientMetadata } from '../provider/clients-file.js';
import type { Renderer } from '../views/renderer.js';
import type { Metrics } from '../observability/metrics.js';
import { listKeys, providerJwks } from '../store/signing-keys.js';
import { createAdapterClass } from '../store/oidc-adapter.js';
import { withClientModel } from '../store/client-adapter.js';
import { withRequestMemo, type RequestMemo } from '../store/request-memo.js';
import { withAccountMemo } from '../store/account-memo.js';
import { ACCOUNT_COMPANION, accountCompanion, type AccountWithIdentity } from '../store/accounts.js';
import { takeCompanion } from '../store/payload-reads.js';
import { createRateLimits } from '../store/rate-limits.js';
import { createProvider, maxSignedTokenSeconds, type ProviderSettings } from '../provider/create-provider.js';
import { logProviderEvents } from '../provider/log-events.js';
import { auditProviderEvents } from '../provider/audit-events.js';
import { countProviderEvents } from '../observability/metrics-provider.js';
import { createAuthAdmission } from '../interactions/auth-admission.js';
import { withSecretGrace } from '../admin/index.js';
import type { MethodRegistry } from '../brokers/registry.js';

export interface ProviderHost {
  /** The provider serving now (replaced when the keys change). */
  current(): Provider;
  /** Re-reads the signing keys and swaps in a provider with the new key order when it changed. */
  reloadKeys(): Promise<boolean>;
}

export async function startProvider(deps: {
  config: Config;
  db: Database;
  clock: Clock;
  kek: Kek;
  logger: Logger;
  audit: AuditLog;
  metrics: Metrics;
  secrets: ResolvedSecrets;
  renderer: Renderer;
  accounts: AccountRepository;
  sessionEndings: SessionEndings;
  /** The clients the provider looks up: the client store behind its in-process cache (store/client-cache.ts). */
  clientStore: Pick<ClientStore, 'providerMetadata'>;
  /** Each request reads a stored artefact at most once (src/store/request-memo.ts). */
  requestMemo: RequestMemo;
  /** The login methods (src/brokers/registry.ts). */
  methods: MethodRegistry;
  builtInClients: ClientMetadata[];
  fetch: Configuration['fetch'];
}): Promise<ProviderHost> {
  const { config, db, clock, kek, logger } = deps;
  const settings: ProviderSettings = {
    issuer: config.issuer,
    ttl: config.ttl,
    sessions: config.sessions,
    swedenConnectCertified: config.compliance.bankidSwedenConnectCertified,
  };
  const verifySeconds = maxSignedTokenSeconds(config.ttl);
  // A token read brings the account it names (payload-reads.ts), which findAccount then takes (account-memo.ts).
  const adapter = withClientModel(withRequestMemo(createAdapterClass(db, clock, { companion: accountCompanion }), deps.requestMemo), withSecretGrace(deps.clientStore));
  const admitInteraction = createAuthAdmission({
    rateLimits: createRateLimits(db, clock),
    perIpMinute: config.guessing.authNewInteractionsPerIpMinute,
    perClientMinute: config.guessing.authNewInteractionsPerClientMinute,
  });

  const build = async () => {
    const keys = await listKeys(db, kek);
    const jwks = providerJwks(keys, clock.now(), verifySeconds);
    const provider = createProvider({
      settings,
      clock,
      adapter,
      sessionEndings: deps.sessionEndings,
      accounts: withAccountMemo(deps.accounts, deps.requestMemo, (id) => takeCompanion<AccountWithIdentity>(db.knex, ACCOUNT_COMPANION, id)),
      renderer: deps.renderer,
      secrets: deps.secrets,
      clients: deps.builtInClients,
      methods: deps.methods,
      jwks,
      fetch: deps.fetch,
      admitInteraction,
    });
    logProviderEvents(provider, logger);
    countProviderEvents(provider, deps.metrics);
    auditProviderEvents(provider, deps.audit);
    return { provider, order: jwks.keys.map((k) => k.kid).join(',') };
  };
  let current = await build();

  return {
    current: () => current.provider,
    async reloadKeys() {
      const next = await build();
      if (next.order === current.order) return false;
      current = next;
      logger.info({ kids: next.order }, 'signing keys reloaded');
      return true;
    },
  };
}
