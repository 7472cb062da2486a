/**
 * How the oidc-provider adapter reads oidc_payloads rows by id, with as few round trips as the
 * provider's own lookups allow. Rules:
 * - Lookups of one id asked in the same tick go out as one statement. oidc-provider's introspection
 *   asks for AccessToken, ClientCredentials and RefreshToken at once; they cost one statement, not three.
 *   The statement is sent after every one of them asked, so each caller sees the table as it is after
 *   its own call: nothing is cached between requests, and no instance can serve what another revoked.
 * - A token row brings, in the same statement, the Grant it names and the Session it is bound to (by
 *   uid): one snapshot of the three rows. An Interaction row does the same with the Grant it names (the
 *   one its consent created or extended, else the one it started with) and the Session it was started in
 *   (`payload.session.uid`): oidc-provider's interactionDetails loads the Interaction and then checks
 *   that its Session still exists and has the same account (`Session.findByUid`), our consent page then
 *   loads the Grant it extends, and the resume after consent loads the Grant the consent saved. Within a request scope
 *   (`adapterRequestScope`, installed with the documented `provider.use` and on our interaction pages),
 *   the provider's next lookup of that Grant (by id) or Session (by uid) in the same request is answered
 *   from that snapshot, once. The snapshot was taken during this request, after it started, so the
 *   request reads exactly what a request that had looked the rows up at that moment would; a revocation
 *   (a session ended, a grant revoked) that committed before the request began is always seen, one that
 *   commits during it is concurrent with it either way (oidc-provider's own separate reads are not
 *   atomic either). Every write through the adapter in the request that can change a Grant or Session
 *   row (SNAPSHOT_MODELS: an upsert, destroy or consume of one, or the Grant deleted on a lost consume)
 *   drops the snapshot, and a read asked before such a write ended keeps nothing. Writes to other models
 *   leave it: destroying the Interaction being resumed, issuing a code or revoking a grant's tokens
 *   (token models only) cannot change a Grant or Session row.
 * - A token or an Interaction that names an account (its indexed account_id: for an Interaction the
 *   account its login result chose, else its Session's) can bring that account too, when the
 *   adapter is given a companion read (the account repository's join, accounts.ts accountCompanion):
 *   within the request scope the account is handed to the provider's next account read in the same
 *   request (takeCompanion), once (userinfo, the code exchange, refresh and both resumes of a login then
 *   read the account in the token's or the Interaction's statement). Writes through the adapter touch oidc_payloads only, so they do not drop it; it
 *   was read during this request, after it began, like a separate read a moment later would be.
 * - The select is built by knex once per shape (the models asked, joined or not) and then sent with new
 *   values (compiled-statements.ts).
 * - Outside a request scope (sweepers, the CLI, our own stores) nothing is kept at all. There is no
 *   cache across requests, negative or positive: the models a token is not cost nothing extra already,
 *   and a cache shared by requests could answer one that began after another instance's revocation.
 */
import type { Knex } from 'knex';
import { existingScopePart, inAdapterScope, scopePart } from './adapter-scope.js';
import { compiledStatements, rowsOf } from './compiled-statements.js';

export const TABLE = 'oidc_payloads';

/** The models whose rows belong to a grant and die with it (as in oidc-provider's own adapter). */
export const GRANT_TOKEN_MODELS = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode'];
/** The models whose row is read with the Grant and Session it names (grant_id, session_uid). */
const READ_WITH_GRANT_AND_SESSION = new Set([...GRANT_TOKEN_MODELS, 'Interaction']);
/** The models whose row is read with the account it names (account_id), when a companion is given. */
const READ_WITH_ACCOUNT = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'Interaction']);
/** Whether a read of `model` brings the Grant and Session its row names. */
export const readsWithGrantAndSession = (model: string): boolean => READ_WITH_GRANT_AND_SESSION.has(model);
/** The models whose rows a request's snapshot holds: only a write to one of them can make it stale. */
export const SNAPSHOT_MODELS: ReadonlySet<string> = new Set(['Grant', 'Session']);

/**
 * Another table's row read in a token's statement by the token's account_id (see the header). `join` adds
 * left joins on `accountIdColumn` and columns of its own names (none of this module's: model, payload,
 * consumed_at, account_id, grant_id, session_uid, grant_*, session_*); `parse` turns such a row into what
 * the reader wants, or undefined when nothing was joined (an account that is gone).
 */
export interface CompanionRead {
  name: string;
  join(q: Knex.QueryBuilder, accountIdColumn: string): Knex.QueryBuilder;
  parse(row: Record<string, unknown>): unknown;
}

export interface StoredRow {
  payload: string;
  consumed_at: string | number | null;
}

interface JoinedRow extends StoredRow {
  [column: string]: unknown;
  model: string;
  account_id: string | null;
  grant_id: string | null;
  session_uid: string | null;
  grant_payload: string | null;
  grant_consumed_at: string | number | null;
  session_payload: string | null;
  session_consumed_at: string | number | null;
}

/** What one request has read with its tokens and interactions: rows by key (null: read, and absent), and a write counter. */
interface Snapshot {
  rows: Map<string, StoredRow | null>;
  writes: number;
  /** What companion reads brought, by `${name} ${accountId}` (kept through adapter writes: another table). */
  companions: Map<string, unknown>;
}

/** This part's key in the adapter's request scope (adapter-scope.ts): one snapshot per request and database. */
const SNAPSHOT = Symbol('payload snapshot');
const newSnapshot = (): Snapshot => ({ rows: new Map(), writes: 0, companions: new Map() });

/**
 * What a companion read (`name`) brought for `accountId` with a token in this request, once; undefined
 * when nothing did (outside a request scope, or no token of this request named the account).
 */
export function takeCompanion<T>(knex: Knex, name: string, accountId: string): T | undefined {
  const companions = existingScopePart<Snapshot>(knex, SNAPSHOT)?.companions;
  const key = `${name} ${accountId}`;
  if (!companions?.has(key)) return undefined;
  const value = companions.get(key) as T;
  companions.delete(key);
  return value;
}

/** For writes to oidc_payloads outside the adapter (ending an account's sessions): drops this request's snapshot. */
export function forgetRequestSnapshot(knex: Knex): void {
  const snapshot = existingScopePart<Snapshot>(knex, SNAPSHOT);
  if (!snapshot) return;
  snapshot.writes += 1;
  snapshot.rows.clear();
}

const grantKey = (id: string) => `Grant ${id}`;
const sessionKey = (uid: string) => `Session uid ${uid}`;

interface Waiter {
  model: string;
  snapshot: Snapshot | undefined;
  writesAtCall: number;
  resolve(row: StoredRow | undefined): void;
  reject(err: unknown): void;
}

export interface PayloadReads {
  /** The unexpired row of (model, id), batched with every lookup of that id in the same tick. */
  byId(model: string, id: string, now: number): Promise<StoredRow | undefined>;
  /** The row this request already read with a token, once; undefined when it read none (null: read, and absent). */
  takeSnapshot(model: string, lookup: { id: string } | { uid: string }): StoredRow | null | undefined;
  /** Called before every write: this request's snapshot is no longer the table's state. */
  forgetSnapshot(): void;
}

export function createPayloadReads(knex: Knex, companion?: CompanionRead): PayloadReads {
  const pending = new Map<string, { now: number; waiters: Waiter[] }>();

  const snapshotOfRequest = (): Snapshot | undefined => scopePart(knex, SNAPSHOT, newSnapshot);

  const unexpired = (column: string, now: number) => (q: Knex.QueryBuilder) => q.whereNull(column).orWhere(column, '>', now);
  const unexpiredOn = (column: string, now: number) => (j: Knex.JoinClause) => {
    j.onNull(column).orOnVal(column, '>', now);
  };

  /** The select of `models` by id, compiled once per shape (compiled-statements.ts): the models asked, and whether the account is joined. */
  const statements = compiledStatements<{ id: string; now: number }>(knex, ['id', 'now']);

  async function select(id: string, models: string[], now: number): Promise<JoinedRow[]> {
    const withGrant = models.some((m) => READ_WITH_GRANT_AND_SESSION.has(m));
    // The account by its primary key (only when a request scope can keep it).
    const withAccount = withGrant && companion !== undefined && inAdapterScope() && models.some((m) => READ_WITH_ACCOUNT.has(m));
    const key = `${models.join(',')}${withGrant ? ' +grant+session' : ''}${withAccount ? ' +account' : ''}`;
    const result = await statements.statement(key, (p) => build(models, withGrant, withAccount, p.id, p.now), { id, now });
    return rowsOf<JoinedRow>(result);
  }

  function build(models: string[], withGrant: boolean, withAccount: boolean, id: string, now: number): Knex.QueryBuilder {
    const q = knex({ t: TABLE })
      .select('t.model', 't.payload', 't.consumed_at', 't.account_id', 't.grant_id', 't.session_uid')
      .where('t.id', id)
      .whereIn('t.model', models)
      .andWhere(unexpired('t.expires_at', now));
    if (!withGrant) return q;
    if (withAccount) companion!.join(q, 't.account_id');
    // Both joins hit a primary or unique-by-use key: (model, id) and (model, uid).
    return q
      .leftJoin({ g: TABLE }, (j) => j.onVal('g.model', '=', 'Grant').andOn('g.id', '=', 't.grant_id').andOn(unexpiredOn('g.expires_at', now)))
      .leftJoin({ s: TABLE }, (j) =>
        j.onVal('s.model', '=', 'Session').andOn('s.uid', '=', 't.session_uid').andOnNotNull('s.uid').andOn(unexpiredOn('s.expires_at', now)),
      )
      .select({ grant_payload: 'g.payload', grant_consumed_at: 'g.consumed_at', session_payload: 's.payload', session_consumed_at: 's.consumed_at' });
  }

  function keep(waiter: Waiter, row: JoinedRow): void {
    const { snapshot } = waiter;
    // A write in this request since the call: the rows read may be older than the request's own change.
    if (!snapshot || snapshot.writes !== waiter.writesAtCall || !READ_WITH_GRANT_AND_SESSION.has(row.model)) return;
    if (row.grant_id) {
      snapshot.rows.set(grantKey(row.grant_id), row.grant_payload === null ? null : { payload: row.grant_payload, consumed_at: row.grant_consumed_at });
    }
    if (row.session_uid) {
      snapshot.rows.set(sessionKey(row.session_uid), row.session_payload === null ? null : { payload: row.session_payload, consumed_at: row.session_consumed_at });
    }
    if (companion && row.account_id && READ_WITH_ACCOUNT.has(row.model)) {
      const value = companion.parse(row);
      if (value !== undefined) snapshot.companions.set(`${companion.name} ${row.account_id}`, value);
    }
  }

  async function flush(id: string): Promise<void> {
    const batch = pending.get(id)!;
    pending.delete(id);
    const models = [...new Set(batch.waiters.map((w) => w.model))];
    let rows: JoinedRow[];
    try {
      rows = await select(id, models, batch.now);
    } catch (err) {
      for (const w of batch.waiters) w.reject(err);
      return;
    }
    for (const w of batch.waiters) {
      const row = rows.find((r) => r.model === w.model);
      if (row) keep(w, row);
      w.resolve(row ? { payload: row.payload, consumed_at: row.consumed_at } : undefined);
    }
  }

  return {
    byId(model, id, now) {
      const snapshot = snapshotOfRequest();
      return new Promise((resolve, reject) => {
        let batch = pending.get(id);
        if (!batch) {
          pending.set(id, (batch = { now, waiters: [] }));
          // After the current synchronous run: the provider's Promise.all has asked for every model by then.
          queueMicrotask(() => void flush(id));
        }
        // The latest caller's time decides what has expired: no caller gets a row expired at its own call.
        batch.now = Math.max(batch.now, now);
        batch.waiters.push({ model, snapshot, writesAtCall: snapshot?.writes ?? 0, resolve, reject });
      });
    },

    takeSnapshot(model, lookup) {
      const key = model === 'Grant' && 'id' in lookup ? grantKey(lookup.id) : model === 'Session' && 'uid' in lookup ? sessionKey(lookup.uid) : undefined;
      const snapshot = key ? existingScopePart<Snapshot>(knex, SNAPSHOT) : undefined;
      if (!key || !snapshot?.rows.has(key)) return undefined;
      const row = snapshot.rows.get(key)!;
      snapshot.rows.delete(key);
      return row;
    },

    forgetSnapshot: () => forgetRequestSnapshot(knex),
  };
}
