/**
 * How the oidc-provider adapter reads oidc_payloads rows by id, with as few round trips as the
 * provider's own lookups allow. Rules:
 * - Lookups of one id asked in the same tick go out as one statement. oidc-provider's introspection
 *   asks for AccessToken, ClientCredentials and RefreshToken at once; they cost one statement, not three.
 *   The statement is sent after every one of them asked, so each caller sees the table as it is after
 *   its own call: nothing is cached between requests, and no instance can serve what another revoked.
 * - On PostgreSQL, lookups of other ids by other requests share statements too: while one statement of a
 *   kind is in flight, the lookups asked meanwhile wait and go out together (`= any(ids)`, at most
 *   MAX_IDS_PER_STATEMENT) when it settles. A lookup never joins a statement already sent (it may have
 *   been answered before the lookup asked), so the rule above holds; under load a request saves most of
 *   a round trip, which on a busy server costs more than the database's work. An idle server sends each
 *   at once, as before, and a statement that carries one id is the single-id select (its plan was
 *   measured faster for a refresh than the list's). SQLite (one connection) sends each group alone. An id holding a NUL, which no
 *   row can have and which would fail every lookup sharing its statement, is answered absent unsent.
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
import type { Dialect } from './db.js';

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

/** At most this many ids in one statement across requests (PostgreSQL): the rest wait for the next. */
export const MAX_IDS_PER_STATEMENT = 100;

/** The lookups of one id asked in one tick: they go out together, in one statement. */
interface Group {
  id: string;
  now: number;
  waiters: Waiter[];
  /** The statement's kind: whether it brings the Grant and Session, and the account (fixed when the group is sent). */
  kind: string;
}

export function createPayloadReads(knex: Knex, dialect: Dialect, companion?: CompanionRead): PayloadReads {
  const pending = new Map<string, Group>();
  // PostgreSQL: lookups of different ids, by different requests, share a statement. While one statement
  // of a kind is in flight, the groups that come meanwhile wait, and go out together when it settles:
  // each is still sent after its callers asked. SQLite has one connection, so a statement there is sent
  // at once, alone, as before.
  const acrossRequests = dialect === 'postgres';
  const waiting = new Map<string, Group[]>();
  const inFlight = new Set<string>();

  const snapshotOfRequest = (): Snapshot | undefined => scopePart(knex, SNAPSHOT, newSnapshot);

  const unexpired = (column: string, now: number) => (q: Knex.QueryBuilder) => q.whereNull(column).orWhere(column, '>', now);
  const unexpiredOn = (column: string, now: number) => (j: Knex.JoinClause) => {
    j.onNull(column).orOnVal(column, '>', now);
  };

  /** The select by id, compiled once per shape (compiled-statements.ts). */
  const statements = compiledStatements<{ id: string; now: number }>(knex, ['id', 'now']);
  /** PostgreSQL's select by a list of ids and models, compiled once per kind. */
  const listStatements = compiledStatements<{ ids: string[]; models: string[]; now: number }>(knex, ['ids', 'models', 'now']);

  const kindOf = (withGrant: boolean, withAccount: boolean) => `${withGrant ? '+grant+session' : ''}${withAccount ? '+account' : ''}`;

  async function select(groups: Group[]): Promise<JoinedRow[]> {
    const kind = groups[0]!.kind;
    const withGrant = kind.includes('+grant');
    const withAccount = kind.includes('+account');
    const models = [...new Set(groups.flatMap((g) => g.waiters.map((w) => w.model)))];
    const now = Math.max(...groups.map((g) => g.now));
    if (!acrossRequests || groups.length === 1) {
      const key = `${models.join(',')}${kind}`;
      const result = await statements.statement(key, (p) => build(withGrant, withAccount, (q) => q.where('t.id', p.id).whereIn('t.model', models), p.now), { id: groups[0]!.id, now });
      return rowsOf<JoinedRow>(result);
    }
    const ids = [...new Set(groups.map((g) => g.id))];
    const result = await listStatements.statement(
      kind,
      (p) => build(withGrant, withAccount, (q) => q.whereRaw('?? = any(?)', ['t.id', p.ids]).andWhereRaw('?? = any(?)', ['t.model', p.models]), p.now),
      { ids, models, now },
    );
    return rowsOf<JoinedRow>(result);
  }

  function build(withGrant: boolean, withAccount: boolean, which: (q: Knex.QueryBuilder) => Knex.QueryBuilder, now: number): Knex.QueryBuilder {
    const q = which(knex({ t: TABLE }).select('t.id', 't.model', 't.payload', 't.consumed_at', 't.account_id', 't.grant_id', 't.session_uid')).andWhere(
      unexpired('t.expires_at', now),
    );
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

  /** Sends `groups` (one kind) in one statement and answers every waiter of each. */
  async function send(groups: Group[]): Promise<void> {
    let rows: JoinedRow[];
    try {
      rows = await select(groups);
    } catch (err) {
      for (const g of groups) for (const w of g.waiters) w.reject(err);
      return;
    }
    const found = new Map(rows.map((r) => [`${String(r.id)} ${r.model}`, r]));
    for (const g of groups) {
      for (const w of g.waiters) {
        const row = found.get(`${g.id} ${w.model}`);
        if (row) keep(w, row);
        w.resolve(row ? { payload: row.payload, consumed_at: row.consumed_at } : undefined);
      }
    }
  }

  /** PostgreSQL: one statement of a kind in flight at a time; the groups that came meanwhile follow together. */
  async function sendInTurn(kind: string, groups: Group[]): Promise<void> {
    inFlight.add(kind);
    try {
      await send(groups);
    } finally {
      const queue = waiting.get(kind) ?? [];
      const next = queue.splice(0, MAX_IDS_PER_STATEMENT);
      if (!queue.length) waiting.delete(kind);
      if (next.length) void sendInTurn(kind, next);
      else inFlight.delete(kind);
    }
  }

  function flush(id: string): void {
    const group = pending.get(id)!;
    pending.delete(id);
    const models = group.waiters.map((w) => w.model);
    const withGrant = models.some((m) => READ_WITH_GRANT_AND_SESSION.has(m));
    // The account by its primary key (only when a request scope can keep it).
    const withAccount = withGrant && companion !== undefined && inAdapterScope() && models.some((m) => READ_WITH_ACCOUNT.has(m));
    group.kind = kindOf(withGrant, withAccount);
    if (id.includes('\u0000')) {
      // No row can have this id (PostgreSQL's text holds no NUL), and sent with others it would fail them all.
      for (const w of group.waiters) w.resolve(undefined);
      return;
    }
    if (!acrossRequests) {
      void send([group]);
      return;
    }
    if (!inFlight.has(group.kind)) {
      void sendInTurn(group.kind, [group]);
      return;
    }
    const queue = waiting.get(group.kind);
    if (queue) queue.push(group);
    else waiting.set(group.kind, [group]);
  }

  return {
    byId(model, id, now) {
      const snapshot = snapshotOfRequest();
      return new Promise((resolve, reject) => {
        let batch = pending.get(id);
        if (!batch) {
          pending.set(id, (batch = { id, now, waiters: [], kind: '' }));
          // After the current synchronous run: the provider's Promise.all has asked for every model by then.
          queueMicrotask(() => flush(id));
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
