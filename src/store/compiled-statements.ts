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
 * - every parameter must reach the SQL, and only as a whole binding: a placeholder knex did not pass
 *   through unchanged is a programming error, thrown at the first use, never a statement with a lost value.
 */
import type { Knex } from 'knex';

type Value = string | number | null;

/** What a builder is handed in place of the values: each parameter's placeholder. */
export type Placeholders<P> = { readonly [K in keyof P]: P[K] };

interface Shape {
  sql: string;
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
    return { sql, slots };
  }

  /** The statement of shape `key` for `params`, unsent (`await` sends it; `toSQL()` gives it to a combined statement). */
  function statement(key: string, build: (p: Placeholders<P>) => Knex.QueryBuilder | Knex.Raw, params: P): Knex.Raw {
    let shape = shapes.get(key);
    if (!shape) shapes.set(key, (shape = compile(build)));
    const bindings = shape.slots.map((s) => ('param' in s ? params[s.param] : s.constant)) as Knex.RawBinding[];
    return knex.raw(shape.sql, bindings);
  }

  return { statement };
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
