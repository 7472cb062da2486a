/** How long anything may wait on the database, and what a client is told while it is away. */
import { z } from 'zod';
import { bool, type EnvOf } from './fields.js';

/** How long anything may wait on the database, and what a client is told while it is away. */
export interface AvailabilitySettings {
  /** Longest wait for a database connection (connecting included). */
  dbAcquireTimeoutMs: number;
  /** PostgreSQL statement_timeout (SQLite: the busy timeout). */
  dbStatementTimeoutMs: number;
  /**
   * PostgreSQL: the hot statements are named prepared statements, parsed and planned once per connection.
   * Off for a pooler in transaction mode that cannot keep them (PgBouncer before 1.21, or without max_prepared_statements).
   */
  dbPreparedStatements: boolean;
  /** Every request is answered by then: after it, a 503 with Retry-After. */
  requestDeadlineMs: number;
  /** How long /readyz waits for the database before it answers 503. */
  readyTimeoutMs: number;
  /** The Retry-After of every 503. */
  retryAfterSeconds: number;
}

export interface AvailabilityConfig {
  availability: AvailabilitySettings;
}

export const availabilityEnv = {
  DB_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(50).max(60000).default(2000),
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(50).max(600000).default(5000),
  DB_PREPARED_STATEMENTS: bool.default(true),
  REQUEST_DEADLINE_MS: z.coerce.number().int().min(100).max(600000).default(15000),
  READY_TIMEOUT_MS: z.coerce.number().int().min(50).max(60000).default(1000),
  RETRY_AFTER_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
};

export function readAvailability(e: EnvOf<typeof availabilityEnv>): AvailabilityConfig {
  return {
    availability: {
      dbAcquireTimeoutMs: e.DB_ACQUIRE_TIMEOUT_MS,
      dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
      dbPreparedStatements: e.DB_PREPARED_STATEMENTS,
      requestDeadlineMs: e.REQUEST_DEADLINE_MS,
      readyTimeoutMs: e.READY_TIMEOUT_MS,
      retryAfterSeconds: e.RETRY_AFTER_SECONDS,
    },
  };
}
