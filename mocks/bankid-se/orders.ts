/**
 * One BankID order and its state machine (shared/reference/BANKID-SE.md). Pure: time is passed in. Rules:
 * - pending/outstandingTransaction → (an app opens the order) pending/started, or userCallConfirm for a
 *   phone order the relying party called → (the user identifies) pending/userSign → complete, or failed
 *   with the hint the tester chose; a tester may also set a pending hint nobody knows yet;
 * - the timeouts are read, not stored: no app within 30 s is failed/startFailed, no final answer within
 *   3 minutes is failed/expiredTransaction, each dated when its deadline passed;
 * - after the end, collect answers for 3 minutes (complete) or 5 minutes (failed); the first final answer
 *   collected is the last one (the store remembers it, see store.ts);
 * - a final order never changes again.
 */
export const START_TIMEOUT_MS = 30_000;
export const ORDER_TIMEOUT_MS = 180_000;
export const COLLECT_WINDOW_MS = { complete: 180_000, failed: 300_000 } as const;
/** How long an order is kept at all: its longest life plus the longest window, with room to spare. */
export const ORDER_RETENTION_MS = 10 * 60_000;

export type OrderStatus = 'pending' | 'failed' | 'complete';

export interface CompletionData {
  user: { personalNumber: string; name: string; givenName: string; surname: string };
  device: { ipAddress: string; uhi: string };
  bankIdIssueDate: string;
  stepUp: { mrtd: boolean };
  signature: string;
  ocspResponse: string;
  risk?: 'low' | 'moderate' | 'high';
}

export interface Order {
  orderRef: string;
  type: 'auth' | 'sign';
  channel: 'app' | 'phone';
  callInitiator?: 'user' | 'RP';
  endUserIp?: string;
  /** The personal number the order is limited to: `requirement.personalNumber`, or a phone order's person. */
  requiredPersonalNumber?: string;
  userVisibleData?: string;
  userNonVisibleData?: string;
  returnRisk?: boolean;
  autoStartToken?: string;
  qrStartToken?: string;
  qrStartSecret?: string;
  createdAt: number;
  /** When an app opened the order, and the id of that app's page. */
  startedAt?: number;
  appId?: string;
  /** Where the app returns after the order ends (the autostart link's `redirect`). */
  redirect?: string;
  /** The person who identified in the app. */
  personalNumber?: string;
  status: OrderStatus;
  hintCode?: string;
  endedAt?: number;
  completionData?: CompletionData;
  /** The relying party cancelled the order: from then on the API knows it no more. */
  cancelledByRp?: boolean;
}

/** What collect reports for an order at a moment. */
export interface Observed {
  status: OrderStatus;
  hintCode?: string;
  endedAt?: number;
  completionData?: CompletionData;
}

export function observe(order: Order, now: number): Observed {
  if (order.status !== 'pending') {
    return { status: order.status, hintCode: order.hintCode, endedAt: order.endedAt, completionData: order.completionData };
  }
  const startDeadline = order.createdAt + START_TIMEOUT_MS;
  if (order.startedAt === undefined && now >= startDeadline) return { status: 'failed', hintCode: 'startFailed', endedAt: startDeadline };
  const deadline = order.createdAt + ORDER_TIMEOUT_MS;
  if (now >= deadline) return { status: 'failed', hintCode: 'expiredTransaction', endedAt: deadline };
  return { status: 'pending', hintCode: order.hintCode ?? 'outstandingTransaction' };
}

export function isRunning(order: Order, now: number): boolean {
  return observe(order, now).status === 'pending';
}

/** Past its collect window: collect and cancel treat the order as unknown. */
export function isGone(order: Order, now: number): boolean {
  const seen = observe(order, now);
  if (seen.status === 'pending' || seen.endedAt === undefined) return false;
  return now > seen.endedAt + COLLECT_WINDOW_MS[seen.status];
}

/** The order with its read-only timeouts written down, so a final state is kept as observed. */
export function settle(order: Order, now: number): Order {
  const seen = observe(order, now);
  if (order.status !== 'pending' || seen.status === 'pending') return order;
  return { ...order, status: seen.status, hintCode: seen.hintCode, endedAt: seen.endedAt };
}

export function fail(order: Order, hintCode: string, now: number): Order {
  return { ...order, status: 'failed', hintCode, endedAt: now, completionData: undefined };
}

export function start(order: Order, now: number, appId: string, redirect: string | undefined): Order {
  const hintCode = order.channel === 'phone' && order.callInitiator === 'RP' ? 'userCallConfirm' : 'started';
  return { ...order, startedAt: now, appId, redirect, hintCode };
}

export function identify(order: Order, personalNumber: string): Order {
  return { ...order, personalNumber, hintCode: 'userSign' };
}

export function setPendingHint(order: Order, hintCode: string): Order {
  return { ...order, hintCode };
}

export function complete(order: Order, completionData: CompletionData, now: number): Order {
  return { ...order, status: 'complete', hintCode: undefined, endedAt: now, completionData };
}

/** The step of the simulated app an order is at. */
export type AppStep = 'choosePerson' | 'decide' | 'ended';

export function appStep(order: Order, now: number): AppStep {
  if (!isRunning(order, now)) return 'ended';
  return order.personalNumber === undefined ? 'choosePerson' : 'decide';
}
