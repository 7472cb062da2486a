/**
 * Fills tables with many rows in one statement each (a row generator in SQL: generate_series on
 * PostgreSQL, a recursive CTE on SQLite), for the plan and sweeper tests. Row `i` (1-based) of
 * oidc_payloads is (unless one model is asked for), by i % 10:
 *   0-5 ClientCredentials (no grant, uid, user code or account: the bulk of a busy table),
 *   6 AccessToken and 7 RefreshToken of grant `g<i/10>` and account `acc<i % 5000>`, bound to session uid `u<i/10>`,
 *   8 Session `s<i>` with uid `u<i/10>`, 9 Grant `g<i/10>`;
 * every 50th row is a DeviceCode with user code `UC<i>` instead. ids are `<model>-<i>` except the session
 * and grant ids above. Row i expires at `expiresFrom + (i - after) * stepMs`.
 */
import type { Database } from '../../src/store/db.js';

/** A row generator `n(i)` from 1 to `count`, as a WITH clause for either dialect. */
function series(db: Database): string {
  return db.dialect === 'postgres' ? 'with n(i) as (select generate_series(1, ?))' : 'with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)';
}

export interface PayloadFill {
  count: number;
  /** Row i expires at `expiresFrom + i * stepMs` (so the first rows expire first). */
  expiresFrom: number;
  stepMs?: number;
  /** Every row of this model instead of the mix. */
  model?: string;
  /** Row numbers start after this, so fills can follow one another without clashing ids. */
  after?: number;
}

/** Payload rows, see the header. */
export async function fillPayloads(db: Database, fill: PayloadFill): Promise<void> {
  const model = fill.model
    ? 'cast(? as varchar(64))'
    : `case when i % 50 = 0 then 'DeviceCode' else case i % 10 when 6 then 'AccessToken' when 7 then 'RefreshToken' when 8 then 'Session' when 9 then 'Grant' else 'ClientCredentials' end end`;
  const sql = `${series(db)}
    insert into oidc_payloads (model, id, payload, grant_id, user_code, uid, account_id, session_uid, expires_at, consumed_at)
    select model,
      case model when 'Session' then 's' || i when 'Grant' then 'g' || (i / 10) else model || '-' || i end,
      '{"n":' || i || '}',
      case when model in ('AccessToken', 'RefreshToken') then 'g' || (i / 10) end,
      case when model = 'DeviceCode' then 'UC' || i end,
      case when model = 'Session' then 'u' || (i / 10) end,
      case when model in ('AccessToken', 'RefreshToken', 'Session', 'Grant') then 'acc' || (i % 5000) end,
      case when model in ('AccessToken', 'RefreshToken') then 'u' || (i / 10) end,
      cast(? as bigint) + (i - cast(? as integer)) * cast(? as integer),
      null
    from (select n.i + cast(? as integer) as i, ${model} as model from n) m`;
  const after = fill.after ?? 0;
  await db.knex.raw(sql, [fill.count, fill.expiresFrom, after, fill.stepMs ?? 1, after, ...(fill.model ? [fill.model] : [])]);
}

/** `count` active e-mail accounts `acc<i>` with credentials; account i last logged in at `firstLoginAt + i * stepMs`. */
export async function fillAccounts(db: Database, count: number, firstLoginAt: number, stepMs: number): Promise<void> {
  await db.knex.raw(
    `${series(db)} insert into accounts (id, kind, status, name, created_at, updated_at, last_login_at)
     select 'acc' || i, 'local', 'active', null, cast(? as bigint), cast(? as bigint), cast(? as bigint) + i * cast(? as bigint) from n`,
    [count, firstLoginAt, firstLoginAt, firstLoginAt, stepMs],
  );
  await db.knex.raw(
    `${series(db)} insert into local_credentials (account_id, email, email_verified_at, password_hash)
     select 'acc' || i, 'user' || i || '@example.no', null, 'x' from n`,
    [count],
  );
}

/** `count` rate-limit counters `login:ip:<i>`, updated at `at + i`. */
export async function fillRateLimits(db: Database, count: number, at: number): Promise<void> {
  await db.knex.raw(
    `${series(db)} insert into rate_limits (key, hits, window_started_at, blocked_until, updated_at)
     select 'login:ip:' || i, 1, cast(? as bigint), null, cast(? as bigint) + i from n`,
    [count, at, at],
  );
}

/** `count` audit events, one per millisecond from `at`, for accounts `acc<i % 5000>`. */
export async function fillAudit(db: Database, count: number, at: number): Promise<void> {
  await db.knex.raw(
    `${series(db)} insert into audit_events (at, event, outcome, account_id, client_id, actor)
     select cast(? as bigint) + i, 'login.succeeded', 'success', 'acc' || (i % 5000), 'conf', 'system' from n`,
    [count, at],
  );
}
