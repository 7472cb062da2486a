/**
 * Work that stays flat as the tables grow (issue 13): every hot lookup gets an index that matches its
 * equality terms exactly, so the planner picks it with or without fresh statistics.
 * - oidc_payloads: findByUid and findByUserCode look up (model, uid) and (model, user_code); the
 *   account a token, session or grant belongs to gets its own column, copied from the payload here and
 *   written by the adapter from now on, so ending an account's sessions is an index lookup instead of a
 *   parse of every payload; a session-bound token names its session's uid in a column, so the adapter
 *   can read the session with the token; the session sweep reads expired sessions from an index of Session rows only.
 *   Most rows are client-credentials tokens with no uid, user code, grant or account: those indexes are
 *   partial (NOT NULL), so such a row costs them nothing.
 * - accounts: retention looks for the oldest last activity (the last login, or the creation of an
 *   account that never logged in). The database computes that column itself, so no writer has to keep
 *   it, and one (status, last_active_at) index serves the query.
 * - audit_events: reading an account's trail newest first walks (account_id, id), which replaces the
 *   account_id index.
 */
import type { Knex } from 'knex';

const isPostgres = (knex: Knex) => knex.client.config.client === 'pg';

export async function up(knex: Knex): Promise<void> {
  const pg = isPostgres(knex);

  await knex.schema.alterTable('oidc_payloads', (t) => {
    t.string('account_id', 255).nullable();
    t.string('session_uid', 255).nullable();
  });
  // The adapter stores payload.accountId and payload.sessionUid when they are strings; existing rows get the same.
  for (const [column, field] of [['account_id', 'accountId'], ['session_uid', 'sessionUid']] as const) {
    const stringField = pg
      ? `case when json_typeof(payload::json->'${field}') = 'string' then payload::json->>'${field}' end`
      : `case when json_type(payload, '$.${field}') = 'text' then json_extract(payload, '$.${field}') end`;
    await knex('oidc_payloads')
      .where('payload', 'like', `%"${field}"%`)
      .update({ [column]: knex.raw(stringField) });
  }

  await knex.schema.alterTable('oidc_payloads', (t) => {
    t.dropIndex(['uid'], 'oidc_payloads_uid_index');
    t.dropIndex(['user_code'], 'oidc_payloads_user_code_index');
    t.dropIndex(['grant_id'], 'oidc_payloads_grant_id_index');
    t.index(['model', 'uid'], 'oidc_payloads_model_uid_idx', { predicate: knex.whereNotNull('uid') });
    t.index(['model', 'user_code'], 'oidc_payloads_model_user_code_idx', { predicate: knex.whereNotNull('user_code') });
    t.index(['grant_id'], 'oidc_payloads_grant_idx', { predicate: knex.whereNotNull('grant_id') });
    t.index(['account_id', 'model'], 'oidc_payloads_account_idx', { predicate: knex.whereNotNull('account_id') });
  });
  // A literal predicate (not a bound parameter), so both planners can match it to the session sweep; the
  // model column too, or SQLite, without statistics, prefers the primary key's equality on model.
  await knex.raw(`create index oidc_payloads_session_expiry_idx on oidc_payloads (model, expires_at) where model = 'Session'`);

  await knex.raw(
    pg
      ? 'alter table accounts add column last_active_at bigint generated always as (coalesce(last_login_at, created_at)) stored'
      : 'alter table accounts add column last_active_at integer generated always as (coalesce(last_login_at, created_at)) virtual',
  );
  await knex.schema.alterTable('accounts', (t) => {
    t.dropIndex(['status', 'last_login_at', 'created_at'], 'accounts_inactive_idx');
    t.index(['status', 'last_active_at'], 'accounts_last_active_idx');
  });

  // (account_id, id) also serves every lookup the account_id index did.
  await knex.schema.alterTable('audit_events', (t) => {
    t.dropIndex(['account_id'], 'audit_events_account_id_index');
    t.index(['account_id', 'id'], 'audit_events_account_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (t) => {
    t.dropIndex(['account_id', 'id'], 'audit_events_account_idx');
    t.index(['account_id'], 'audit_events_account_id_index');
  });

  await knex.schema.alterTable('accounts', (t) => {
    t.dropIndex(['status', 'last_active_at'], 'accounts_last_active_idx');
    t.index(['status', 'last_login_at', 'created_at'], 'accounts_inactive_idx');
  });
  // Raw: knex's SQLite column drop rebuilds the table from a parse of its DDL, which knows no generated columns.
  await knex.raw('alter table accounts drop column last_active_at');

  await knex.raw('drop index oidc_payloads_session_expiry_idx');
  await knex.schema.alterTable('oidc_payloads', (t) => {
    t.dropIndex(['account_id', 'model'], 'oidc_payloads_account_idx');
    t.dropIndex(['grant_id'], 'oidc_payloads_grant_idx');
    t.dropIndex(['model', 'user_code'], 'oidc_payloads_model_user_code_idx');
    t.dropIndex(['model', 'uid'], 'oidc_payloads_model_uid_idx');
    t.index(['grant_id'], 'oidc_payloads_grant_id_index');
    t.index(['user_code'], 'oidc_payloads_user_code_index');
    t.index(['uid'], 'oidc_payloads_uid_index');
  });
  await knex.raw('alter table oidc_payloads drop column session_uid');
  await knex.raw('alter table oidc_payloads drop column account_id');
}
