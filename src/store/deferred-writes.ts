/**
 * The adapter's saves and deletes of one request, sent together (issue 13: a login resume saved and
 * deleted its rows one round trip at a time). Rules:
 * - on PostgreSQL, inside an open adapter request scope (adapter-scope.ts), an upsert or destroy of an
 *   oidc_payloads row is kept instead of sent; on SQLite (one connection in the process: a statement
 *   costs no round trip) and outside a scope every write is sent at once, as before;
 * - one row has at most one kept write: a later save replaces an earlier one (both set every column the
 *   save sets), a delete replaces a save (the row ends as the delete leaves it either way); a save after
 *   a kept delete first sends what is kept, since one statement cannot delete and insert the same row;
 * - what is kept is sent before anything could see the table without it: a read of a kept row (or of
 *   the rows a read brings with it: a Grant or Session read with a token or an Interaction), any other
 *   adapter write (a consume, a claim, a revocation by grant, which must find the rows saved before
 *   them), our own stores' statements on those rows (flushRequestWrites), and at the latest when the
 *   request's handler is done, before its answer leaves (the scope's closer). So every request reads its
 *   own writes, and no one else can see an answer that names a row before the row is stored;
 * - the request's audit events join them (audit.ts): new rows that nothing in the request reads back,
 *   stored in the same statement as the rows they record (a token issued and its event: both or neither);
 * - several kept writes go as one statement: each a data-modifying WITH query of one statement, which
 *   PostgreSQL runs to completion, all or nothing (their rows are distinct: one write per row); a write
 *   that must lock another row first (a login's refund before its clear, rate-limits.ts) names that
 *   step as `after`, a WITH query of its own that the write reads, so it runs first;
 * - kept writes of other tables than oidc_payloads (the rate-limit counter a successful login clears)
 *   follow the same rules; the store that keeps one sends it before any statement of its own on that table;
 * - a statement of our own that the request has to send anyway (the window count of a new login at
 *   /auth, beside the Interaction the provider just saved) carries what is kept (`sendWith`): the kept
 *   writes go as WITH queries in front of it, one round trip for both; unless a kept write is on the
 *   statement's own table (PostgreSQL cannot promise which of two changes to one row in one statement
 *   wins): then what is kept is sent first, on its own;
 * - the kept writes of different requests share statements too, when each request's are only rows of
 *   oidc_payloads and new rows (a token and its audit event: nothing that locks a shared row or needs a
 *   step first): while one such statement is in flight, the requests that flush meanwhile wait and go
 *   out together when it settles (at most MAX_WRITES_PER_STATEMENT writes, in the order they came). A
 *   request that writes a row a waiting or departed one also writes (every refresh of one grant saves
 *   its Grant) is sent at once, on its own, as without sharing: one statement never writes a row twice,
 *   and concurrent requests have no order between them to keep. Each is still
 *   sent after its request asked and answered only once stored; under load a request saves most of a
 *   round trip. An idle server sends each at once, as before;
 * - a kept write that fails fails the request (adapter-scope.ts): a database that is away is a 503.
 *   Whoever's flush sent it (a read, an event listener, the scope's closer), every later flush of the
 *   request fails with the same error, the closer's included, and nothing more is sent.
 */
import type { Knex } from 'knex';
import type { Database } from './db.js';
import { existingScopePart, scopePart } from './adapter-scope.js';
import { sentPrepared } from './compiled-statements.js';

/**
 * One kept write; `statement` builds the query that would have been sent. An upsert or delete is of an
 * oidc_payloads row (model, id); an insert is a new row of another table that nothing in the request
 * reads back (an audit event: `model` names the table, `id` is unique), told by `onStored` once stored.
 */
export interface KeptWrite {
  kind: 'upsert' | 'delete' | 'insert';
  model: string;
  id: string;
  /** The query; with `after`, it is handed the name of the WITH query `after` became, and must read it. */
  statement: (afterName?: string) => Knex.QueryBuilder | Knex.Raw;
  /** A data-modifying step (with RETURNING) that must run before `statement` touches its row. */
  after?: () => Knex.QueryBuilder | Knex.Raw;
  onStored?: () => void;
}

/** A statement of ours that may carry the kept writes: its own WITH queries (named, in order), its main query, and its table. */
export interface CarrierStatement {
  ctes: Array<{ name: string; sql: string; bindings: readonly Knex.RawBinding[] }>;
  main: { sql: string; bindings: readonly Knex.RawBinding[] };
  /** The table it changes: a kept write on it is sent first, on its own. */
  table: string;
}

/** This part's key in the adapter's request scope. */
const KEPT = Symbol('deferred writes');

interface Kept {
  /** By `${model} ${id}`, in the order they were first kept. */
  writes: Map<string, KeptWrite>;
  /** The writes being sent now, and when that is done. */
  sending: KeptWrite[];
  sent: Promise<void>;
  /** The first send that failed: from then on every flush fails with it, the scope's closer too. */
  failure?: { error: unknown };
  /** Sends everything kept (after what is being sent). */
  flush(): Promise<void>;
  /** Sends `carrier` with everything kept in front of it, and gives its result. */
  sendWith(carrier: CarrierStatement): Promise<unknown>;
}

const keyOf = (w: { model: string; id: string }) => `${w.model} ${w.id}`;

type Part = { name: string; sql: string; bindings: readonly Knex.RawBinding[] };

/** The kept writes as named WITH queries, in order: `w0`, or `w0a` then `w0` for a write with an `after` step. */
function withQueries(writes: KeptWrite[]): Part[] {
  return writes.flatMap((w, i): Part[] => {
    const name = `w${i}`;
    const sqlOf = (q: Knex.QueryBuilder | Knex.Raw) => q.toSQL() as { sql: string; bindings: readonly Knex.RawBinding[] };
    if (!w.after) return [{ name, ...sqlOf(w.statement()) }];
    return [{ name: `${name}a`, ...sqlOf(w.after()) }, { name, ...sqlOf(w.statement(`${name}a`)) }];
  });
}

/** `with a as (…), b as (…) <main>`. */
function withStatement(parts: Part[], main: { sql: string; bindings: readonly Knex.RawBinding[] }) {
  return {
    sql: `with ${parts.map((p) => `${p.name} as (${p.sql})`).join(', ')} ${main.sql}`,
    bindings: [...parts.flatMap((p) => p.bindings), ...main.bindings],
  };
}

/**
 * Several writes as one statement: `with w0 as (…), w1 as (…) select 1`; a prepared statement when they
 * are one request's (a few recurring shapes), unnamed when several requests' (shapes without end).
 */
async function sendTogether(knex: Knex, writes: KeptWrite[], prepared = true): Promise<void> {
  if (writes.length === 1 && !writes[0]!.after) {
    await writes[0]!.statement();
    return;
  }
  const { sql, bindings } = withStatement(withQueries(writes), { sql: 'select 1', bindings: [] });
  await (prepared ? sentPrepared(knex, sql, bindings) : knex.raw(sql, bindings as Knex.RawBinding[]));
}

/** At most this many kept writes in one statement shared by requests. */
export const MAX_WRITES_PER_STATEMENT = 64;

/** One request's kept writes waiting for a shared statement. */
interface Car {
  writes: KeptWrite[];
  resolve(): void;
  reject(err: unknown): void;
}

/** Whether a request's writes may share a statement with others': rows of oidc_payloads and new rows only, none with a step. */
const sharable = (writes: KeptWrite[]) => writes.every((w) => !w.after && (w.kind === 'insert' || w.model !== RATE_LIMITS_TABLE));
const RATE_LIMITS_TABLE = 'rate_limits';

/** PostgreSQL: the statement shared by requests (see the header), one per database. */
function createSharedSends(knex: Knex): (writes: KeptWrite[]) => Promise<void> {
  const waiting: Car[] = [];
  let departing = false;
  /** The rows of every write waiting or out in a shared statement (a count per row). */
  const claimed = new Map<string, number>();
  const claim = (car: Car, by: 1 | -1) => {
    for (const w of car.writes) {
      const key = keyOf(w);
      const n = (claimed.get(key) ?? 0) + by;
      if (n) claimed.set(key, n);
      else claimed.delete(key);
    }
  };

  /** The waiting requests, in order, up to the cap (their rows are distinct: see below). */
  function nextLoad(): Car[] {
    let count = 0;
    let taken = 0;
    for (const car of waiting) {
      if (taken > 0 && count + car.writes.length > MAX_WRITES_PER_STATEMENT) break;
      count += car.writes.length;
      taken += 1;
    }
    return waiting.splice(0, taken);
  }

  async function depart(): Promise<void> {
    departing = true;
    try {
      while (waiting.length) {
        const load = nextLoad();
        try {
          await sendTogether(knex, load.flatMap((c) => c.writes), load.length === 1);
          for (const car of load) car.resolve();
        } catch (err) {
          for (const car of load) car.reject(err);
        } finally {
          for (const car of load) claim(car, -1);
        }
      }
    } finally {
      departing = false;
    }
  }

  return (writes) => {
    // A row that a waiting or departed request also writes (the Grant that every refresh of one grant
    // saves): one statement must not write it twice, and concurrent requests have no order to keep, so
    // this request's writes go at once, on their own, as they would without sharing.
    if (writes.some((w) => claimed.has(keyOf(w)))) return sendTogether(knex, writes);
    return new Promise<void>((resolve, reject) => {
      const car = { writes, resolve, reject };
      claim(car, 1);
      waiting.push(car);
      if (!departing) void depart();
    });
  };
}

const sharedSends = new WeakMap<Knex, (writes: KeptWrite[]) => Promise<void>>();
function sharedSendOf(knex: Knex): (writes: KeptWrite[]) => Promise<void> {
  let send = sharedSends.get(knex);
  if (!send) sharedSends.set(knex, (send = createSharedSends(knex)));
  return send;
}

/** The carrier as it is sent when nothing travels with it. */
function carrierAlone(carrier: CarrierStatement) {
  return carrier.ctes.length ? withStatement(carrier.ctes, carrier.main) : carrier.main;
}

function newKept(knex: Knex): Kept {
  const shared = sharedSendOf(knex);
  /**
   * Runs `send` with what is kept now, after what is being sent. Whoever started the send that failed
   * (a read, an event listener), the request has failed: its writes are not all stored. Nothing more is
   * sent, as a handler stops at a write that throws.
   */
  function sendKept<T>(send: (batch: KeptWrite[]) => Promise<T>): Promise<T> {
    const next = kept.sent.then(async () => {
      if (kept.failure) throw kept.failure.error;
      const batch = [...kept.writes.values()];
      kept.writes.clear();
      if (!batch.length) return send(batch);
      kept.sending = batch;
      try {
        const result = await send(batch);
        for (const w of batch) w.onStored?.();
        return result;
      } catch (error) {
        kept.failure = { error };
        throw error;
      } finally {
        kept.sending = [];
      }
    });
    kept.sent = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  const kept: Kept = {
    writes: new Map(),
    sending: [],
    sent: Promise.resolve(),
    flush: () => sendKept(async (batch) => (!batch.length ? undefined : sharable(batch) ? shared(batch) : sendTogether(knex, batch))),
    sendWith: (carrier) =>
      sendKept(async (batch): Promise<unknown> => {
        if (batch.some((w) => w.model === carrier.table)) {
          await sendTogether(knex, batch);
        } else if (batch.length) {
          const { sql, bindings } = withStatement([...withQueries(batch), ...carrier.ctes], carrier.main);
          return await sentPrepared(knex, sql, bindings);
        }
        const { sql, bindings } = carrierAlone(carrier);
        return await sentPrepared(knex, sql, bindings);
      }),
  };
  return kept;
}

export interface DeferredWrites {
  /**
   * Keeps the write for later and resolves true, or resolves false (SQLite, or no open request scope):
   * then the caller sends it at once.
   */
  defer(write: KeptWrite): Promise<boolean>;
  /** The same for an insert of a new row (kind 'insert'), decided at once: true when kept. */
  keepInsert(write: Omit<KeptWrite, 'kind'>): boolean;
  /**
   * Sends what is kept when any kept (or in-flight) write passes `affects` (every write when none is
   * given); undefined when nothing needs sending, so a caller that needs no flush costs no tick.
   */
  flushIf(affects?: (write: KeptWrite) => boolean): Promise<void> | undefined;
  /**
   * Sends `carrier` and gives its result (as knex.raw does): inside a request scope on PostgreSQL with
   * the kept writes in front of it, in one statement; otherwise on its own.
   */
  sendWith(carrier: CarrierStatement): Promise<unknown>;
}

export function createDeferredWrites(db: Database): DeferredWrites {
  const { knex } = db;
  const enabled = db.dialect === 'postgres';
  return {
    keepInsert(write) {
      const kept = enabled ? scopePart(knex, KEPT, () => newKept(knex), (k) => k.flush()) : undefined;
      if (!kept || kept.failure) return false;
      kept.writes.set(keyOf(write), { ...write, kind: 'insert' });
      return true;
    },

    async defer(write) {
      if (!enabled) return false;
      const kept = scopePart(knex, KEPT, () => newKept(knex), (k) => k.flush());
      if (!kept) return false;
      const key = keyOf(write);
      const earlier = kept.writes.get(key);
      // One statement cannot delete and insert the same row; and a write with its own step keeps that step.
      if (earlier && ((write.kind === 'upsert' && earlier.kind === 'delete') || earlier.after)) await kept.flush();
      kept.writes.delete(key);
      kept.writes.set(key, write);
      return true;
    },

    flushIf(affects) {
      const kept = existingScopePart<Kept>(knex, KEPT);
      if (!kept || (!kept.writes.size && !kept.sending.length)) return undefined;
      if (affects && ![...kept.writes.values(), ...kept.sending].some(affects)) return undefined;
      return kept.flush();
    },

    async sendWith(carrier) {
      const kept = enabled ? existingScopePart<Kept>(knex, KEPT) : undefined;
      if (kept) return kept.sendWith(carrier);
      const { sql, bindings } = carrierAlone(carrier);
      return sentPrepared(knex, sql, bindings);
    },
  };
}

/** For our own stores' statements on oidc_payloads inside a request (ending an account's sessions): sends what the adapter kept first. */
export async function flushRequestWrites(knex: Knex): Promise<void> {
  const kept = existingScopePart<Kept>(knex, KEPT);
  if (kept) await kept.flush();
}
