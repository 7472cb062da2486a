/**
 * Where the BankID mock keeps its state: rows of our shared key/value table (src/store/oidc-adapter.ts),
 * with model names of its own, so every instance on the database sees the same orders. Rules:
 * - `MockBankid:Order` by orderRef; the row goes ORDER_RETENTION_MS after the order began;
 * - `MockBankid:Handle` maps the QR start token, the autostart token and the app page's id to an order;
 * - `MockBankid:Person` names the latest order of a personal number (for alreadyInProgress);
 * - the first final answer collected is recorded with the adapter's claim, which no later save of
 *   the order can undo and which only one of concurrent collects wins;
 * - `MockBankid:Inject` holds the API failures a test asked for.
 */
import type { Clock } from '../../../clock.js';
import type { Database } from '../../../store/db.js';
import { createAdapterClass, type OidcAdapter, type OneTimeStore } from '../../../store/oidc-adapter.js';
import { ORDER_RETENTION_MS, type Order } from './orders.js';

export type HandleKind = 'qr' | 'autostart' | 'app';

export const INJECTABLE_ERRORS = ['maintenance', 'internalError', 'requestTimeout', 'tooManyRequests'] as const;
export type InjectableError = (typeof INJECTABLE_ERRORS)[number];

export interface Injection {
  errorCode: InjectableError;
  remaining: number;
}

export interface StoredOrder {
  order: Order;
  /** The first final answer has been collected. */
  finalCollected: boolean;
}

export interface MockStore {
  saveOrder(order: Order): Promise<void>;
  loadOrder(orderRef: string): Promise<StoredOrder | undefined>;
  /** True for the one collect that recorded it. */
  markFinalCollected(orderRef: string): Promise<boolean>;
  link(kind: HandleKind, handle: string, order: Order): Promise<void>;
  orderRefBy(kind: HandleKind, handle: string): Promise<string | undefined>;
  setLatestFor(personalNumber: string, order: Order): Promise<void>;
  latestFor(personalNumber: string): Promise<string | undefined>;
  setInjection(injection: Injection | undefined): Promise<void>;
  /** Takes one of the injected failures, if any are left. */
  takeInjection(): Promise<InjectableError | undefined>;
}

export function createMockStore(db: Database, clock: Clock): MockStore {
  const Adapter = createAdapterClass(db, clock);
  const orders: OneTimeStore = new Adapter('MockBankid:Order');
  const handles: OidcAdapter = new Adapter('MockBankid:Handle');
  const persons: OidcAdapter = new Adapter('MockBankid:Person');
  const injections: OidcAdapter = new Adapter('MockBankid:Inject');
  const INJECTION_ID = 'next';

  /** Seconds the rows of an order have left; at least one, so a save never writes an expired row. */
  const lifetime = (order: Order) => Math.max(1, Math.ceil((order.createdAt + ORDER_RETENTION_MS - clock.now()) / 1000));

  async function setInjection(injection: Injection | undefined): Promise<void> {
    if (!injection || injection.remaining <= 0) await injections.destroy(INJECTION_ID);
    else await injections.upsert(INJECTION_ID, { ...injection });
  }

  return {
    saveOrder: (order) => orders.upsert(order.orderRef, { order }, lifetime(order)),
    async loadOrder(orderRef) {
      const row = await orders.find(orderRef);
      if (!row?.order) return undefined;
      return { order: row.order as Order, finalCollected: row.consumed !== undefined };
    },
    markFinalCollected: (orderRef) => orders.claim(orderRef),
    link: (kind, handle, order) => handles.upsert(`${kind}:${handle}`, { orderRef: order.orderRef }, lifetime(order)),
    async orderRefBy(kind, handle) {
      const row = await handles.find(`${kind}:${handle}`);
      return typeof row?.orderRef === 'string' ? row.orderRef : undefined;
    },
    setLatestFor: (personalNumber, order) => persons.upsert(personalNumber, { orderRef: order.orderRef }, lifetime(order)),
    async latestFor(personalNumber) {
      const row = await persons.find(personalNumber);
      return typeof row?.orderRef === 'string' ? row.orderRef : undefined;
    },
    setInjection,
    async takeInjection() {
      const row = (await injections.find(INJECTION_ID)) as Partial<Injection> | undefined;
      if (!row?.errorCode || !row.remaining) return undefined;
      await setInjection({ errorCode: row.errorCode, remaining: row.remaining - 1 });
      return row.errorCode;
    },
  };
}
