/**
 * Orders of decoupled brokers (BankID), one per interaction. Rules:
 * - collect is claimed with a conditional update: of any number of polls on any number of instances,
 *   exactly one per interval (and never two at once: a collect in flight holds the order until its
 *   lease ends) wins and asks upstream; every other poll reads the result stored by the last winner;
 * - a result is stored only by the claim that is still current, or when it is final; a final result is
 *   never replaced, except a failure by a completion (the order did succeed upstream), and nothing
 *   replaces a cancellation;
 * - a cancellation is claimed the same way: one instance cancels upstream, whoever noticed first;
 * - an order whose interaction is gone (expired, finished elsewhere) or whose own time is up is
 *   "abandoned": the sweeper cancels it upstream if it is still pending, and deletes it.
 * Payloads and results are opaque JSON to the store; time is the injected clock's.
 */
import type { Clock } from '../clock.js';
import type { Database } from './db.js';

const TABLE = 'decoupled_orders';

export type OrderStatus = 'pending' | 'failed' | 'complete' | 'cancelled';
type Json = Record<string, unknown>;

export interface DecoupledOrder {
  uid: string;
  broker: string;
  orderRef: string | null;
  payload: Json;
  status: OrderStatus;
  lastCollectedAt: number;
  lastResult: Json | null;
}

interface Row {
  uid: string;
  broker: string;
  order_ref: string | null;
  payload: string;
  status: OrderStatus;
  last_collected_at: number | string;
  last_result: string | null;
}

const orderOf = (r: Row): DecoupledOrder => ({
  uid: r.uid,
  broker: r.broker,
  orderRef: r.order_ref,
  payload: JSON.parse(r.payload) as Json,
  status: r.status,
  lastCollectedAt: Number(r.last_collected_at),
  lastResult: r.last_result === null ? null : (JSON.parse(r.last_result) as Json),
});

export interface DecoupledOrders {
  /** Stores a new order for the interaction, replacing any earlier one. */
  start(order: { uid: string; broker: string; orderRef: string | null; payload: Json; status: OrderStatus; lastResult?: Json }, ttlSeconds: number): Promise<void>;
  /** The interaction's order; one past its time only when asked for (to cancel it). */
  find(uid: string, opts?: { expiredToo?: boolean }): Promise<DecoupledOrder | undefined>;
  /** Rewrites the payload of this order (not of a newer one of the same interaction). */
  updatePayload(uid: string, orderRef: string, payload: Json): Promise<void>;
  /** True for exactly one caller per interval while the order is pending; returns the claim's time. */
  claimCollect(uid: string, orderRef: string, intervalMs: number, leaseMs: number): Promise<number | undefined>;
  /** Stores what the claimed collect said; false when the claim was overtaken (read the row instead). */
  recordCollect(uid: string, orderRef: string, claimedAt: number, status: OrderStatus, result: Json): Promise<boolean>;
  /** True for exactly one caller while the order is pending: that caller cancels it upstream. */
  claimCancel(uid: string, orderRef: string): Promise<boolean>;
  destroy(uid: string): Promise<void>;
  /** Orders whose interaction is gone or whose time is up. */
  abandoned(limit: number): Promise<DecoupledOrder[]>;
}

export function createDecoupledOrders(db: Database, clock: Clock): DecoupledOrders {
  const { knex } = db;
  const live = () => knex(TABLE).where('expires_at', '>', clock.now());
  return {
    async start(order, ttlSeconds) {
      const row = {
        uid: order.uid,
        broker: order.broker,
        order_ref: order.orderRef,
        payload: JSON.stringify(order.payload),
        status: order.status,
        last_collected_at: 0,
        collecting_until: 0,
        last_result: order.lastResult ? JSON.stringify(order.lastResult) : null,
        expires_at: clock.now() + ttlSeconds * 1000,
      };
      await knex(TABLE).insert(row).onConflict('uid').merge();
    },

    async find(uid, opts) {
      const row = (await (opts?.expiredToo ? knex(TABLE) : live()).where({ uid }).first()) as Row | undefined;
      return row ? orderOf(row) : undefined;
    },

    async updatePayload(uid, orderRef, payload) {
      await knex(TABLE).where({ uid, order_ref: orderRef }).update({ payload: JSON.stringify(payload) });
    },

    async claimCollect(uid, orderRef, intervalMs, leaseMs) {
      const now = clock.now();
      const won = await live()
        .where({ uid, order_ref: orderRef, status: 'pending' })
        .andWhere('last_collected_at', '<=', now - intervalMs)
        .andWhere('collecting_until', '<=', now)
        .update({ last_collected_at: now, collecting_until: now + leaseMs });
      return won === 1 ? now : undefined;
    },

    async recordCollect(uid, orderRef, claimedAt, status, result) {
      const q = knex(TABLE).where({ uid, order_ref: orderRef });
      if (status === 'pending') q.andWhere({ status: 'pending', last_collected_at: claimedAt });
      else if (status === 'complete') q.whereIn('status', ['pending', 'failed']);
      else q.andWhere({ status: 'pending' });
      const won = await q.update({ status, last_result: JSON.stringify(result), collecting_until: 0 });
      return won === 1;
    },

    async claimCancel(uid, orderRef) {
      const won = await knex(TABLE).where({ uid, order_ref: orderRef, status: 'pending' }).update({ status: 'cancelled', collecting_until: 0 });
      return won === 1;
    },

    async destroy(uid) {
      await knex(TABLE).where({ uid }).del();
    },

    async abandoned(limit) {
      const now = clock.now();
      const interactionLives = knex('oidc_payloads')
        .select(knex.raw('1'))
        .where('model', 'Interaction')
        .andWhere('id', knex.ref(`${TABLE}.uid`))
        .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', now));
      const rows = (await knex(TABLE)
        .where((q) => q.where('expires_at', '<=', now).orWhereNotExists(interactionLives))
        .orderBy('expires_at')
        .limit(limit)) as Row[];
      return rows.map(orderOf);
    },
  };
}
