/**
 * What the RP API does to orders: create, collect, cancel (shared/reference/BANKID-SE.md). Rules:
 * - a new order naming a personal number that has a running order is refused with alreadyInProgress,
 *   and the running one fails with `cancelled`;
 * - collect reports the order as observed now (timeouts included); the first final answer is recorded,
 *   and any collect after it, or after the collect window, is invalidParameters;
 * - cancel ends a running order; the API knows a cancelled order no more, so a second cancel (or a
 *   collect) is invalidParameters, as is cancelling an order that has ended.
 */
import crypto from 'node:crypto';
import type { Now } from '../shared/deps.js';
import { BankidApiError, invalidParameters } from './errors.js';
import { fail, isGone, isRunning, observe, type Order, type Observed } from './orders.js';
import type { MockStore, StoredOrder } from './store.js';
import type { OrderRequest } from './validate.js';

export type CollectAnswer = { orderRef: string } & Omit<Observed, 'endedAt'>;

export type OrderStart = { orderRef: string } | { orderRef: string; autoStartToken: string; qrStartToken: string; qrStartSecret: string };

/** The running order of a personal number, if there is one. */
export function runningOrderFor(store: MockStore, personalNumber: string, now: number): Order | undefined {
  const orderRef = store.latestFor(personalNumber);
  const stored = orderRef ? store.loadOrder(orderRef) : undefined;
  return stored && !stored.order.cancelledByRp && isRunning(stored.order, now) ? stored.order : undefined;
}

export function createOrderService(store: MockStore, now: Now) {
  /** An order the API still knows: not cancelled by the relying party, not past its collect window. */
  function loadKnown(orderRef: string): StoredOrder {
    const stored = store.loadOrder(orderRef);
    if (!stored || stored.order.cancelledByRp || isGone(stored.order, now())) throw invalidParameters('No such order');
    return stored;
  }

  return {
    async create(request: OrderRequest): Promise<OrderStart> {
      const at = now();
      if (request.personalNumber) {
        const running = runningOrderFor(store, request.personalNumber, at);
        if (running) {
          store.saveOrder(fail(running, 'cancelled', at));
          throw new BankidApiError('alreadyInProgress', 'Order already in progress for pno');
        }
      }
      const order: Order = {
        orderRef: crypto.randomUUID(),
        type: request.type,
        channel: request.channel,
        callInitiator: request.callInitiator,
        endUserIp: request.endUserIp,
        requiredPersonalNumber: request.personalNumber,
        userVisibleData: request.userVisibleData,
        userNonVisibleData: request.userNonVisibleData,
        returnRisk: request.returnRisk,
        createdAt: at,
        status: 'pending',
        hintCode: 'outstandingTransaction',
      };
      if (order.channel === 'app') {
        order.autoStartToken = crypto.randomUUID();
        order.qrStartToken = crypto.randomUUID();
        order.qrStartSecret = crypto.randomUUID();
      }
      store.saveOrder(order);
      if (order.qrStartToken) store.link('qr', order.qrStartToken, order);
      if (order.autoStartToken) store.link('autostart', order.autoStartToken, order);
      if (order.requiredPersonalNumber) store.setLatestFor(order.requiredPersonalNumber, order);
      if (order.channel === 'phone') return { orderRef: order.orderRef };
      return { orderRef: order.orderRef, autoStartToken: order.autoStartToken!, qrStartToken: order.qrStartToken!, qrStartSecret: order.qrStartSecret! };
    },

    async collect(orderRef: string): Promise<CollectAnswer> {
      const stored = loadKnown(orderRef);
      const seen = observe(stored.order, now());
      if (seen.status !== 'pending') {
        // After the first final answer the order is unknown, also to a collect that raced it.
        if (stored.finalCollected || !store.markFinalCollected(orderRef)) throw invalidParameters('No such order');
      }
      const answer: CollectAnswer = { orderRef, status: seen.status };
      if (seen.hintCode !== undefined) answer.hintCode = seen.hintCode;
      if (seen.completionData !== undefined) answer.completionData = seen.completionData;
      return answer;
    },

    async cancel(orderRef: string): Promise<void> {
      const stored = loadKnown(orderRef);
      const at = now();
      if (!isRunning(stored.order, at)) throw invalidParameters('The order has already ended');
      store.saveOrder({ ...fail(stored.order, 'cancelled', at), cancelledByRp: true });
    },
  };
}

export type OrderService = ReturnType<typeof createOrderService>;
