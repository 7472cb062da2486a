/**
 * Hot statements built by knex once and then sent with new values (issue 13: compiling a token read's
 * select with its joins was about 12 % of a userinfo request's CPU, more than the round trip itself).
 * Rules:
 * - the SQL is knex's own for the dialect: the builder runs once per shape, with a placeholder where a
 *   value goes, and its compiled text is kept; so what is sent is exactly what the builder would have sent;
 * - a binding is a parameter only where the builder was handed one; every other binding (a model name, a
 *   limit) belongs to the shape, so a caller must name the shape by everything that changes the SQL or
 *   its constants (`key`);
 * - it is still sent through knex (`knex.raw`): the same pool, timeouts, error codes and `query` events;
 * - on PostgreSQL it is a named prepared statement (`sentPrepared`), unless the operator turned that off:
 *   parsed and planned once per connection, not at every execution;
 * - every parameter must reach the SQL, and only as a whole binding: a placeholder knex did not pass
 *   through unchanged is a programming error, thrown at the first use, never a statement with a lost value.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';

/** A value sent in a parameter's place; a list is sent as an array (PostgreSQL's `= any(?)`). */
type Value = string | number | null | readonly string[];

/** What a builder is handed in place of the values: each parameter's placeholder. */
export type Placeholders<P> = { readonly [K in keyof P]: P[K] };

interface Shape {
  sql: string;
  /** Its prepared statement's name, when it has one (`preparedName`). */
  name: string | undefined;
  /** Per binding: the parameter it takes, or the constant the shape has there. */
  slots: Array<{ param: string } | { constant: unknown }>;
}

const PLACEHOLDER = '\u0000nordlys-parameter:';

/**
 * A family of statements over one knex instance. `build` turns placeholders into a query; `run` sends the
 * statement of shape `key` with `params`.
 */
export function compiledStatements<P extends Record<string, Value>>(knex: Knex, names: ReadonlyArray<keyof P & string>) {
  const shapes = new Map<string, Shape>();

  function compile(build: (p: Placeholders<P>) => Knex.QueryBuilder | Knex.Raw): Shape {
    const placeholders = Object.fromEntries(names.map((n) => [n, `${PLACEHOLDER}${n}`])) as unknown as Placeholders<P>;
    const { sql, bindings } = build(placeholders).toSQL();
    const seen = new Set<string>();
    const slots = (bindings as unknown[]).map((b) => {
      if (typeof b !== 'string' || !b.includes(PLACEHOLDER)) return { constant: b };
      const param = b.startsWith(PLACEHOLDER) ? b.slice(PLACEHOLDER.length) : undefined;
      if (param === undefined || !names.includes(param)) throw new Error('compiled statement: a placeholder that knex did not pass through whole (changed, or inside a longer value)');
      seen.add(param);
      return { param };
    });
    if (sql.includes(PLACEHOLDER)) throw new Error('compiled statement: a placeholder in the SQL text');
    const lost = names.filter((n) => !seen.has(n));
    if (lost.length) throw new Error(`compiled statement: parameters that do not reach the SQL: ${lost.join(', ')}`);
    return { sql, slots, name: preparedName(knex, sql) };
  }

  /** The statement of shape `key` for `params`, unsent (`await` sends it; `toSQL()` gives it to a combined statement). */
  function statement(key: string, build: (p: Placeholders<P>) => Knex.QueryBuilder | Knex.Raw, params: P): Knex.Raw {
    let shape = shapes.get(key);
    if (!shape) shapes.set(key, (shape = compile(build)));
    const bindings = shape.slots.map((s) => ('param' in s ? params[s.param] : s.constant)) as Knex.RawBinding[];
    const raw = knex.raw(shape.sql, bindings);
    return shape.name ? raw.options({ name: shape.name }) : raw;
  }

  return { statement };
}

/**
 * Named prepared statements (issue 13). node-postgres sends a statement without a name as Parse, Bind and
 * Execute every time, so PostgreSQL parses and plans it at every execution: for a token read with its
 * joins that was about 0.6 ms of the server's CPU, ten times the execution itself. A named one is parsed
 * once per connection, and after a few executions PostgreSQL keeps its plan (a generic plan, which
 * test/store/query-plans.test.ts checks uses the same indexes). Rules:
 * - only over a knex that openDatabase marked (PostgreSQL, unless DB_PREPARED_STATEMENTS=false, for a
 *   pooler in transaction mode that cannot keep prepared statements);
 * - the name is a hash of the SQL text, so one text has one name on every connection and two texts never
 *   share one (node-postgres refuses a name reused for another text);
 * - at most MAX_PREPARED texts per process get a name, each connection keeping at most as many on the
 *   server; past that a statement is sent unnamed, as before. The hot statements are fixed shapes and
 *   the combinations a request's kept writes make; the cap only bounds what nobody foresaw.
 */
const preparing = new WeakSet<Knex>();
const MAX_PREPARED = 256;
const names = new Map<string, string>();

/** Marks `knex` (PostgreSQL's, from openDatabase) as one whose hot statements are prepared. */
export function prepareStatementsOn(knex: Knex): void {
  preparing.add(knex);
}

/** The prepared statement name of `sql` over `knex`, or undefined when it is sent unnamed. */
export function preparedName(knex: Knex, sql: string): string | undefined {
  if (!preparing.has(knex)) return undefined;
  let name = names.get(sql);
  if (name === undefined && names.size < MAX_PREPARED) {
    name = `nordlys_${crypto.createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;
    names.set(sql, name);
  }
  return name;
}

/** `knex.raw(sql, bindings)`, sent as a named prepared statement where `preparedName` gives one. */
export function sentPrepared(knex: Knex, sql: string, bindings: readonly Knex.RawBinding[]): Knex.Raw {
  const raw = knex.raw(sql, bindings as Knex.RawBinding[]);
  const name = preparedName(knex, sql);
  return name ? raw.options({ name }) : raw;
}

/** The rows of a select sent raw: PostgreSQL answers with a result object, SQLite with the rows. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/** How many rows an update or delete sent raw changed (PostgreSQL's rowCount, SQLite's changes). */
export function changedRowsOf(result: unknown): number {
  const r = result as { rowCount?: number | null; changes?: number };
  return Number(r.rowCount ?? r.changes ?? 0);
}
