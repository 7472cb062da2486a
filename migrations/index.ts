/** Every migration, in order. Listed statically so the same list runs from the build, the CLI and the tests. */
import type { Knex } from 'knex';
import * as initial from './001_initial.js';
import * as federated from './002_federated_identities.js';
import * as localAccounts from './003_local_accounts.js';
import * as signingKeyProtection from './004_signing_key_protection.js';
import * as federatedRetention from './004_federated_retention.js';
import * as backchannelOutbox from './005_backchannel_outbox.js';
import * as decoupledOrders from './006_decoupled_orders.js';
import * as clients from './006_clients.js';
import * as auditActor from './006_audit_actor.js';
import * as flatLookups from './007_flat_lookups.js';
import * as changeVersions from './008_change_versions.js';

export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: Migration[] = [
  { name: '001_initial', ...initial },
  { name: '002_federated_identities', ...federated },
  { name: '003_local_accounts', ...localAccounts },
  { name: '004_federated_retention', ...federatedRetention },
  { name: '004_signing_key_protection', ...signingKeyProtection },
  { name: '005_backchannel_outbox', ...backchannelOutbox },
  { name: '006_decoupled_orders', ...decoupledOrders },
  { name: '006_clients', ...clients },
  { name: '006_audit_actor', ...auditActor },
  { name: '007_flat_lookups', ...flatLookups },
  { name: '008_change_versions', ...changeVersions },
];
