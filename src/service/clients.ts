/**
 * The clients an instance serves. Rules: the clients file is read first (a bad file stops start-up,
 * production refuses the example clients) but is only an import: clients live in the database, and
 * the file's entries are loaded into it once oidc-provider has validated each (a bad field stops
 * start-up, naming the client). The playground's built-in clients join them when it is on; their
 * secret and request key are generated once and stay server-side.
 */
import crypto from 'node:crypto';
import type Provider from 'oidc-provider';
import type { Config } from '../config/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import type { Kek } from '../store/key-encryption.js';
import type { ClientStore } from '../store/clients.js';
import { getOrCreateSecret } from '../store/secrets.js';
import { knownMethodIds } from '../brokers/registry.js';
import { readClientsFile, ClientsFileError, type ClientMetadata } from '../provider/clients-file.js';
import { newRequestKey, playgroundClients } from '../playground/clients.js';
import { createClientStore, importClients } from '../admin/index.js';

export interface ClientSetup {
  /** The clients file's entries. */
  clients: ClientMetadata[];
  store: ClientStore;
  /** The playground's own secret and request key, when it is on. */
  playgroundKeys: { clientSecret: string; requestKey: Record<string, string> } | undefined;
  /** Clients the provider serves from memory (the playground's). */
  builtInClients: ClientMetadata[];
}

export async function loadClients(config: Config, db: Database, clock: Clock, kek: Kek, logger: Logger): Promise<ClientSetup> {
  const clients = readClientsFile(config.clientsFile, { refuseExamples: config.nodeEnv === 'production', knownMethods: knownMethodIds(config.brokers) });
  const store = createClientStore(db, clock, kek);
  const playgroundKeys = config.playground.enabled
    ? {
        clientSecret: await getOrCreateSecret(db, clock, 'PLAYGROUND_CLIENT_SECRET', () => crypto.randomBytes(32).toString('base64url')),
        requestKey: JSON.parse(await getOrCreateSecret(db, clock, 'PLAYGROUND_REQUEST_KEY', newRequestKey)) as Record<string, string>,
      }
    : undefined;
  const builtInClients = playgroundKeys ? playgroundClients(config.issuer, playgroundKeys) : [];
  if (playgroundKeys && config.nodeEnv === 'production') logger.warn('the integrator playground is enabled in production (PLAYGROUND_ENABLED=true)');
  return { clients, store, playgroundKeys, builtInClients };
}

/** Validates every client (file and built-in) with oidc-provider, then imports the file's into the database. */
export async function importValidatedClients(provider: Provider, setup: ClientSetup, clientsFile: string, logger: Logger): Promise<void> {
  for (const client of [...setup.clients, ...setup.builtInClients]) {
    try {
      await provider.Client.validate(client);
    } catch (err) {
      const e = err as { error_description?: string; message: string };
      throw new ClientsFileError(clientsFile, [`client ${client.client_id}: ${e.error_description ?? e.message}`]);
    }
  }
  await importClients(setup.store, setup.clients, logger, clientsFile);
}
