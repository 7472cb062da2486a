/**
 * The admin parts the composition root wires: the client store (served to the provider through the
 * adapter, with the rotated secrets' grace period applied to each lookup), the clients-file import and the
 * /admin/api/v1 router. Rules: the clients file is only an import (loaded at start-up, production
 * refusing example clients before this); the API and the CLI use the same service functions; telling
 * relying parties that sessions ended (back-channel logout) is the provider's job, handed in by the
 * composition root, so nothing here reaches into the provider module.
 */
import type Provider from 'oidc-provider';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import type { Kek } from '../store/key-encryption.js';
import type { AuditLog } from '../store/audit.js';
import { createClientStore, type ClientStore, type StoredMetadata } from '../store/clients.js';
import type { RateLimits } from '../store/rate-limits.js';
import type { AccountRepository } from '../store/accounts.js';
import { createClientsService } from './clients-service.js';
import { createAdminRouter } from './router.js';
import type { EndedSession } from './accounts-routes.js';
import type { KeyRoutesSettings } from './keys-routes.js';
import { withSecretGrace } from './secret-grace.js';

export { createClientStore, withSecretGrace };

/** Loads the (validated) clients-file entries into the database and logs what changed, by client id only. */
export async function importClients(store: ClientStore, clients: Array<Record<string, unknown> & { client_id: string }>, logger: Logger, file: string): Promise<void> {
  const result = await store.importClients(clients as Array<StoredMetadata & { client_secret?: string }>);
  if (result.created.length || result.updated.length) logger.info({ file, created: result.created, updated: result.updated }, 'clients imported into the database');
}

/** What the admin API is configured with (src/config/admin.ts and the settings it shares with the rest). */
export interface AdminSettings {
  issuer: string;
  bodyLimitBytes: number;
  retryAfterSeconds: number;
  /** After a client secret is rotated, the previous one keeps working this long. */
  secretGraceSeconds: number;
  /** Admin API requests per admin client per minute. */
  requestsPerMinute: number;
  keys: KeyRoutesSettings;
}

export function createAdmin(deps: {
  settings: AdminSettings;
  db: Database;
  clock: Clock;
  store: ClientStore;
  rateLimits: RateLimits;
  accounts: AccountRepository;
  audit: AuditLog;
  getProvider: () => Provider;
  /** Sends the back-channel logouts of a session an admin action ended (revoke, disable, delete). */
  backchannelLogout: (session: EndedSession) => Promise<void>;
}) {
  const { settings, db, clock, store, rateLimits, audit } = deps;
  const clients = createClientsService({
    store,
    audit,
    graceSeconds: settings.secretGraceSeconds,
    validate: async (metadata) => {
      await deps.getProvider().Client.validate(metadata as never);
    },
  });
  const router = createAdminRouter({
    getProvider: deps.getProvider,
    clock,
    rateLimits,
    perMinute: settings.requestsPerMinute,
    clients,
    audit,
    issuer: settings.issuer,
    bodyLimitBytes: settings.bodyLimitBytes,
    retryAfterSeconds: settings.retryAfterSeconds,
    keys: { settings: settings.keys, db, clock, audit },
    accounts: {
      db,
      clock,
      accounts: deps.accounts,
      audit,
      rateLimits,
      backchannelLogout: deps.backchannelLogout,
    },
  });
  return { clients, router };
}

/** The CLI's offline kek-aware factory (same service functions as the API, no provider at hand). */
export { createClientsService };
export type { Kek, EndedSession };
