/**
 * Self-service flows (registration, password reset) and their one-time codes (DESIGN §5; Ory Kratos's
 * flows and code strategy). Rules:
 * - a flow is a row with an explicit state (code_sent → verified → completed) and an expires_at; it
 *   belongs to one login (interaction) and holds one current code;
 * - a code is six random digits, stored only as an HMAC bound to its flow, compared in constant time;
 *   when no code was mailed (reset of an unknown address, registration of a taken one) the row holds a
 *   random value no code can match, so every later step behaves the same;
 * - the attempt counter is incremented (conditionally, below the maximum) before the code is compared;
 * - a right code is consumed by `UPDATE … WHERE code_consumed_at IS NULL` and the affected row count
 *   decides: of any number of concurrent right submissions exactly one succeeds;
 * - every transition is a conditional update on the state it leaves, so a replayed form changes nothing.
 */
import crypto from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Database } from './db.js';

export type FlowKind = 'registration' | 'recovery';
export type FlowState = 'code_sent' | 'verified' | 'completed';

export interface Flow {
  id: string;
  kind: FlowKind;
  state: FlowState;
  interactionUid: string;
  locale: string;
  email: string;
  accountId: string | null;
  codeSentAt: number;
  codeExpiresAt: number;
  codeAttempts: number;
  sends: number;
  expiresAt: number;
}

export type CodeCheck =
  | { result: 'verified' }
  | { result: 'wrong'; attemptsLeft: number }
  | { result: 'too_many_attempts' | 'code_expired' | 'used' | 'flow_expired' | 'not_found' };

export interface FlowSettings {
  codeKey: Buffer;
  codeTtlSeconds: number;
  flowTtlSeconds: number;
  maxAttempts: number;
}

const TABLE = 'self_service_flows';

export function generateCode(): string {
  return crypto.randomInt(0, 1_000_000).toString().padStart(6, '0');
}

const num = (v: unknown): number => Number(v);

/** Deletes flows that expired more than `graceSeconds` ago (kept a while to say "expired", not "unknown"). */
export async function sweepExpiredFlows(db: Database, clock: Clock, graceSeconds: number): Promise<number> {
  return db.knex(TABLE).where('expires_at', '<', clock.now() - graceSeconds * 1000).del();
}

function toFlow(r: Record<string, unknown>): Flow {
  return {
    id: String(r.id),
    kind: r.kind as FlowKind,
    state: r.state as FlowState,
    interactionUid: String(r.interaction_uid),
    locale: String(r.locale),
    email: String(r.email),
    accountId: (r.account_id as string | null) ?? null,
    codeSentAt: num(r.code_sent_at),
    codeExpiresAt: num(r.code_expires_at),
    codeAttempts: num(r.code_attempts),
    sends: num(r.sends),
    expiresAt: num(r.expires_at),
  };
}

export function createFlowRepository(db: Database, clock: Clock, settings: FlowSettings) {
  const { knex } = db;

  const hmac = (flowId: string, code: string): string =>
    crypto.createHmac('sha256', settings.codeKey).update(`${flowId}\n${code}`).digest('hex');
  /** What is stored for a code: its HMAC, or a random value of the same shape when none was mailed. */
  const stored = (flowId: string, code: string | undefined): string => (code ? hmac(flowId, code) : crypto.randomBytes(32).toString('hex'));

  async function create(input: {
    kind: FlowKind;
    interactionUid: string;
    locale: string;
    email: string;
    accountId: string | null;
    /** The code that was mailed; undefined when the mail carried none. */
    code: string | undefined;
  }): Promise<Flow> {
    const id = crypto.randomBytes(18).toString('base64url');
    const now = clock.now();
    await knex(TABLE).insert({
      id,
      kind: input.kind,
      state: 'code_sent',
      interaction_uid: input.interactionUid,
      locale: input.locale,
      email: input.email,
      account_id: input.accountId,
      code_hmac: stored(id, input.code),
      code_sent_at: now,
      code_expires_at: now + settings.codeTtlSeconds * 1000,
      code_attempts: 0,
      sends: 1,
      created_at: now,
      expires_at: now + settings.flowTtlSeconds * 1000,
    });
    return (await find(id))!;
  }

  async function find(id: string): Promise<Flow | undefined> {
    const row = (await knex(TABLE).where({ id }).first()) as Record<string, unknown> | undefined;
    return row ? toFlow(row) : undefined;
  }

  /** A new code for a flow still waiting for one (a resend); false when the flow moved on meanwhile. */
  async function replaceCode(id: string, code: string | undefined, accountId: string | null): Promise<boolean> {
    const now = clock.now();
    const changed = await knex(TABLE)
      .where({ id, state: 'code_sent' })
      .andWhere('expires_at', '>', now)
      .update({
        code_hmac: stored(id, code),
        code_sent_at: now,
        code_expires_at: now + settings.codeTtlSeconds * 1000,
        code_attempts: 0,
        code_consumed_at: null,
        account_id: accountId,
        sends: knex.raw('sends + 1'),
      });
    return changed === 1;
  }

  async function classify(id: string, now: number): Promise<CodeCheck> {
    const row = (await knex(TABLE).where({ id }).first()) as Record<string, unknown> | undefined;
    if (!row) return { result: 'not_found' };
    if (num(row.expires_at) <= now) return { result: 'flow_expired' };
    if (row.state !== 'code_sent' || row.code_consumed_at !== null) return { result: 'used' };
    if (num(row.code_attempts) >= settings.maxAttempts) return { result: 'too_many_attempts' };
    return { result: 'code_expired' };
  }

  /** Checks a six-digit code against the flow's current code (see the header for the order of steps). */
  async function checkCode(id: string, code: string): Promise<CodeCheck> {
    const now = clock.now();
    const counted = await knex(TABLE)
      .where({ id, state: 'code_sent' })
      .whereNull('code_consumed_at')
      .andWhere('code_attempts', '<', settings.maxAttempts)
      .andWhere('code_expires_at', '>', now)
      .andWhere('expires_at', '>', now)
      .update({ code_attempts: knex.raw('code_attempts + 1') });
    if (counted !== 1) return classify(id, now);

    const row = (await knex(TABLE).where({ id }).first('code_hmac', 'code_attempts')) as { code_hmac: string; code_attempts: number | string };
    const expected = Buffer.from(row.code_hmac, 'hex');
    const given = Buffer.from(hmac(id, code), 'hex');
    if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) {
      return { result: 'wrong', attemptsLeft: Math.max(0, settings.maxAttempts - num(row.code_attempts)) };
    }
    const consumed = await knex(TABLE)
      .where({ id, state: 'code_sent', code_hmac: row.code_hmac })
      .whereNull('code_consumed_at')
      .update({ code_consumed_at: now, state: 'verified', verified_at: now });
    return consumed === 1 ? { result: 'verified' } : { result: 'used' };
  }

  return { create, find, replaceCode, checkCode, hmac };
}

export type FlowRepository = ReturnType<typeof createFlowRepository>;
