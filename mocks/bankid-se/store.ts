/**
 * Where the BankID mock keeps its state: in its own memory, aged by its own clock. Rules:
 * - orders by orderRef; an order and everything pointing at it go ORDER_RETENTION_MS after it began;
 * - handles map the QR start token, the autostart token and the app page's id to an order;
 * - each personal number names its latest order (for alreadyInProgress);
 * - the first final answer collected is recorded once, by the one collect that marks it (JavaScript
 *   runs one collect at a time, so of two racing collects only the first sees the order unmarked), and
 *   no later save of the order undoes it;
 * - the API failures a test asked for are counted down one call at a time.
 */
import type { Now } from '../shared/deps.js';
import { ExpiringMap } from '../shared/expiring-map.js';
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
  saveOrder(order: Order): void;
  loadOrder(orderRef: string): StoredOrder | undefined;
  /** True for the one collect that recorded it. */
  markFinalCollected(orderRef: string): boolean;
  link(kind: HandleKind, handle: string, order: Order): void;
  orderRefBy(kind: HandleKind, handle: string): string | undefined;
  setLatestFor(personalNumber: string, order: Order): void;
  latestFor(personalNumber: string): string | undefined;
  setInjection(injection: Injection | undefined): void;
  /** Takes one of the injected failures, if any are left. */
  takeInjection(): InjectableError | undefined;
}

export function createMockStore(now: Now): MockStore {
  const orders = new ExpiringMap<StoredOrder>(now);
  const pointers = new ExpiringMap<string>(now);
  let injection: Injection | undefined;

  /** What is left of an order's life; at least a millisecond, so a save never writes an expired entry. */
  const lifetime = (order: Order) => Math.max(1, order.createdAt + ORDER_RETENTION_MS - now());

  return {
    saveOrder(order) {
      orders.set(order.orderRef, { order, finalCollected: orders.get(order.orderRef)?.finalCollected ?? false }, lifetime(order));
    },
    loadOrder: (orderRef) => orders.get(orderRef),
    markFinalCollected(orderRef) {
      const stored = orders.get(orderRef);
      if (!stored || stored.finalCollected) return false;
      stored.finalCollected = true;
      return true;
    },
    link: (kind, handle, order) => pointers.set(`${kind}:${handle}`, order.orderRef, lifetime(order)),
    orderRefBy: (kind, handle) => pointers.get(`${kind}:${handle}`),
    setLatestFor: (personalNumber, order) => pointers.set(`person:${personalNumber}`, order.orderRef, lifetime(order)),
    latestFor: (personalNumber) => pointers.get(`person:${personalNumber}`),
    setInjection(next) {
      injection = next && next.remaining > 0 ? { ...next } : undefined;
    },
    takeInjection() {
      if (!injection) return undefined;
      const { errorCode } = injection;
      injection = injection.remaining > 1 ? { errorCode, remaining: injection.remaining - 1 } : undefined;
      return errorCode;
    },
  };
}
