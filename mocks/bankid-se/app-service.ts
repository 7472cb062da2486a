/**
 * What the simulated BankID app does to orders. Rules:
 * - an app opens an order by its QR data (the HMAC must match and the data must be fresh: qr.ts), by its
 *   autostart token, or, for a phone order, by the person it is for; an order is opened once, by one app,
 *   and only while it runs (not after startFailed);
 * - the person who identifies must be the one the order requires, if it requires one; their other
 *   running order fails with `cancelled` (the newer order wins, as in BankID);
 * - then the tester approves (complete, with completionData), cancels (userCancel), picks a failure hint,
 *   or a pending hint no relying party knows; an order that has ended changes no more.
 */
import crypto from 'node:crypto';
import type { Now } from '../shared/deps.js';
import { checkQr, parseQrData } from './qr.js';
import { buildCompletionData } from './completion.js';
import { personFor } from './persons.js';
import { appStep, complete, fail, identify, isRunning, setPendingHint, start, type Order } from './orders.js';
import { runningOrderFor } from './service.js';
import type { MockStore } from './store.js';

/** The failed hints a tester can choose, `unknownFutureHint` standing for one a relying party cannot know. */
export const TESTER_FAILURES = ['expiredTransaction', 'certificateErr', 'startFailed', 'userDeclinedCall', 'notSupportedByUserApp', 'transactionRiskBlocked', 'unknownFutureHint'] as const;
/** A pending hint no relying party knows yet: it must keep polling. */
export const UNKNOWN_PENDING_HINT = 'someNewPendingHint';

export type Refusal =
  | 'qrMalformed'
  | 'qrUnknown'
  | 'qrBadCode'
  | 'qrStale'
  | 'qrAhead'
  | 'autostartUnknown'
  | 'phoneUnknown'
  | 'alreadyOpened'
  | 'orderEnded'
  | 'personMissing'
  | 'personNotRequired'
  | 'unknownAction';

export type Opened = { appId: string } | { refused: Refusal };

export interface AppOrder {
  order: Order;
  /** Another order of the same person was cancelled when this one was identified. */
  cancelledOther?: boolean;
}

export function createAppService(store: MockStore, now: Now, signingKey: string) {
  async function openOrder(orderRef: string | undefined, missing: Refusal, redirect?: string): Promise<Opened> {
    const stored = orderRef ? store.loadOrder(orderRef) : undefined;
    if (!stored) return { refused: missing };
    const at = now();
    if (stored.order.cancelledByRp || !isRunning(stored.order, at)) return { refused: 'orderEnded' };
    if (stored.order.startedAt !== undefined) return { refused: 'alreadyOpened' };
    const appId = crypto.randomUUID();
    const order = start(stored.order, at, appId, redirect);
    store.saveOrder(order);
    store.link('app', appId, order);
    return { appId };
  }

  async function byAppId(appId: string): Promise<Order | undefined> {
    const orderRef = store.orderRefBy('app', appId);
    return orderRef ? store.loadOrder(orderRef)?.order : undefined;
  }

  return {
    byAppId,

    async openByQr(text: string): Promise<Opened> {
      const scanned = parseQrData(text);
      if (!scanned) return { refused: 'qrMalformed' };
      const orderRef = store.orderRefBy('qr', scanned.qrStartToken);
      const stored = orderRef ? store.loadOrder(orderRef) : undefined;
      if (!stored?.order.qrStartSecret) return { refused: 'qrUnknown' };
      const ageSeconds = Math.floor((now() - stored.order.createdAt) / 1000);
      const check = checkQr(scanned, stored.order.qrStartSecret, ageSeconds);
      if (check !== 'ok') return { refused: check === 'badCode' ? 'qrBadCode' : check === 'stale' ? 'qrStale' : 'qrAhead' };
      return openOrder(orderRef, 'qrUnknown');
    },

    async openByAutostart(token: string, redirect: string | undefined): Promise<Opened> {
      return openOrder(store.orderRefBy('autostart', token), 'autostartUnknown', redirect);
    },

    async openPhoneOrder(personalNumber: string): Promise<Opened> {
      const running = runningOrderFor(store, personalNumber, now());
      return openOrder(running?.channel === 'phone' ? running.orderRef : undefined, 'phoneUnknown');
    },

    async identify(appId: string, personalNumber: string): Promise<AppOrder | { refused: Refusal }> {
      const order = await byAppId(appId);
      const at = now();
      if (!order || order.cancelledByRp || appStep(order, at) === 'ended') return { refused: 'orderEnded' };
      // A second submit of the same step (a reload, a double click) changes nothing.
      if (order.personalNumber !== undefined) return { order };
      if (!personalNumber) return { refused: 'personMissing' };
      if (order.requiredPersonalNumber && order.requiredPersonalNumber !== personalNumber) return { refused: 'personNotRequired' };
      const other = runningOrderFor(store, personalNumber, at);
      const cancelledOther = other !== undefined && other.orderRef !== order.orderRef;
      if (cancelledOther) store.saveOrder(fail(other, 'cancelled', at));
      const next = identify(order, personalNumber);
      store.saveOrder(next);
      store.setLatestFor(personalNumber, next);
      return { order: next, cancelledOther };
    },

    async decide(appId: string, action: string, deviceIp: string): Promise<AppOrder | { refused: Refusal }> {
      const order = await byAppId(appId);
      const at = now();
      if (!order || order.cancelledByRp || appStep(order, at) === 'ended') return { refused: 'orderEnded' };
      let next: Order;
      if (action === 'cancel') next = fail(order, 'userCancel', at);
      else if (order.personalNumber === undefined) return { refused: 'unknownAction' };
      else if (action === 'approve') next = complete(order, buildCompletionData(order, personFor(order.personalNumber), deviceIp, signingKey, at), at);
      else if ((TESTER_FAILURES as readonly string[]).includes(action)) next = fail(order, action, at);
      else if (action === UNKNOWN_PENDING_HINT) next = setPendingHint(order, action);
      else return { refused: 'unknownAction' };
      store.saveOrder(next);
      return { order: next };
    },
  };
}

export type AppService = ReturnType<typeof createAppService>;
