/**
 * The audit trail names who acted (`user:<id>`, `client:<id>`, `cli`, `system`) and is read by account,
 * client, event and time: an actor column and the indexes those filters and the id cursor need.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (t) => {
    t.string('actor', 320).nullable();
    t.index(['client_id', 'id'], 'audit_events_client_idx');
    t.index(['event', 'id'], 'audit_events_event_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (t) => {
    t.dropIndex(['client_id', 'id'], 'audit_events_client_idx');
    t.dropIndex(['event', 'id'], 'audit_events_event_idx');
    t.dropColumn('actor');
  });
}
