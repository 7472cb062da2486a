/**
 * The order of a decoupled login (BankID and any other decoupled method of the registry), as every
 * instance sees it (store/decoupled-orders.ts). Rules:
 * - the upstream is asked about an order at most once per the method's interval (BankID: 2 s), by
 *   whichever poll claims the interval; the others read the stored result, so two polls never race for
 *   the one final answer and none records a failure for an order that completed;
 * - the winner of a completed order creates or finds the account and records the finished login
 *   (upstream-login.ts); any poll can then hand it to the provider; no national id is stored here;
 * - what the page says for each state is the method's (its DecoupledPage); the stored result holds the
 *   message id, never the upstream's raw answer;
 * - an order that is left (another method, abort, the interaction gone) is cancelled upstream once;
 *   a failed cancel is logged and left to the upstream's own timeout.
 */
import type { LoginCounters } from '../observability/metrics.js';
import type { Logger } from '../logger.js';
import type { DecoupledOrder, DecoupledOrders } from '../store/decoupled-orders.js';
import type { MethodRegistry } from '../brokers/registry.js';
import type { DecoupledMethod } from '../brokers/method.js';
import { BrokerError, type BrokerState, type Requirement } from '../brokers/types.js';
import type { MessageId } from '../i18n/translate.js';
import { countFailure, type FinishedLogin, type UpstreamLogins, type Who } from './upstream-login.js';
import { startPeriodic, type Sweeper } from '../store/sweeper.js';

/** How the order was started: the code scanned on another device (the default), or on this device. */
export type StartMode = 'qr' | 'same-device';

export interface OrderPayload {
  state: BrokerState;
  requirement: Requirement;
  mode: StartMode;
}

export type Observation =
  | { kind: 'none' }
  | { kind: 'pending'; method: DecoupledMethod; hint: string | undefined; order: OrderPayload }
  | { kind: 'failed'; messageId: MessageId }
  | { kind: 'complete'; login: FinishedLogin }
  | { kind: 'cancelled' };

export interface DecoupledFlowDeps {
  methods: MethodRegistry;
  orders: DecoupledOrders;
  logins: UpstreamLogins;
  logger: Logger;
  ttlSeconds: number;
  /** Login metrics, counted where the outcome is recorded once (so racing polls count one login). */
  count: LoginCounters;
}

export function createDecoupledFlow(deps: DecoupledFlowDeps) {
  const { orders } = deps;
  const methodOf = (id: string): DecoupledMethod | undefined => {
    const method = deps.methods.get(id);
    return method?.capability === 'decoupled' ? method : undefined;
  };
  /** A result whose message went missing (a corrupted row) still says something honest. */
  const unknownFailure = (method: DecoupledMethod) => method.page.errorMessage(new BrokerError(method.id, 'invalid_response', 'the stored result has no message'));

  async function cancelOrder(row: DecoupledOrder | undefined): Promise<void> {
    if (!row) return;
    const method = methodOf(row.broker);
    if (method && row.status === 'pending' && row.orderRef && (await orders.claimCancel(row.uid, row.orderRef))) {
      await method.broker.cancel((row.payload as unknown as OrderPayload).state).catch((err: unknown) => deps.logger.warn({ err, broker: method.id }, 'upstream cancel failed'));
    }
    await orders.destroy(row.uid);
  }
  const cancel = async (uid: string) => cancelOrder(await orders.find(uid, { expiredToo: true }));

  /** Asks the upstream once (this poll won the interval) and stores what it said. */
  async function collect(method: DecoupledMethod, uid: string, orderRef: string, order: OrderPayload, claimedAt: number, who: Who): Promise<Observation> {
    try {
      const result = await method.broker.poll(order.state, order.requirement);
      if (result.status === 'pending') {
        await orders.recordCollect(uid, orderRef, claimedAt, 'pending', { hint: result.hint });
        return { kind: 'pending', method, hint: result.hint, order };
      }
      if (result.status === 'failed') {
        const ended = method.page.failed(result.reason, order.mode);
        if (await orders.recordCollect(uid, orderRef, claimedAt, 'failed', { messageId: ended.messageId })) {
          await deps.logins.ended(method, result.reason, ended.byPerson, who);
        }
        return read(uid, who);
      }
      const entered = await deps.logins.enter(result.identity);
      if (await orders.recordCollect(uid, orderRef, claimedAt, 'complete', { login: entered.login })) await deps.logins.succeeded(method, entered, who);
      return read(uid, who);
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      deps.logger.warn({ broker: method.id, kind: err.kind, message: err.message }, 'upstream poll failed');
      if (await orders.recordCollect(uid, orderRef, claimedAt, 'failed', { messageId: method.page.errorMessage(err) })) countFailure(deps.count, method, err.kind);
      return read(uid, who);
    }
  }

  /** Where the order is: collects if this poll claims the interval, else reads the stored result. */
  async function read(uid: string, who: Who, mayCollect = false): Promise<Observation> {
    const row = await orders.find(uid);
    const method = row ? methodOf(row.broker) : undefined;
    if (!row || !method) return { kind: 'none' };
    const result = row.lastResult ?? {};
    switch (row.status) {
      case 'complete':
        return { kind: 'complete', login: result.login as FinishedLogin };
      case 'failed':
        return { kind: 'failed', messageId: typeof result.messageId === 'string' ? (result.messageId as MessageId) : unknownFailure(method) };
      case 'cancelled':
        return { kind: 'cancelled' };
      default: {
        const order = row.payload as unknown as OrderPayload;
        if (mayCollect && row.orderRef) {
          const claimedAt = await orders.claimCollect(uid, row.orderRef, method.broker.pollIntervalMs, method.broker.pollTimeoutMs);
          if (claimedAt !== undefined) return collect(method, uid, row.orderRef, order, claimedAt, who);
        }
        return { kind: 'pending', method, hint: typeof result.hint === 'string' ? result.hint : undefined, order };
      }
    }
  }

  return {
    /** Starts a new order for the interaction (cancelling any earlier one); a refusal is stored as a failure. */
    async begin(uid: string, method: DecoupledMethod, requirement: Requirement, ip: string): Promise<void> {
      await cancel(uid);
      try {
        const { state, orderRef } = await method.broker.begin(requirement, { ip });
        const payload: OrderPayload = { state, requirement, mode: 'qr' };
        await orders.start({ uid, broker: method.id, orderRef, payload: payload as never, status: 'pending' }, deps.ttlSeconds);
      } catch (err) {
        if (!(err instanceof BrokerError)) throw err;
        countFailure(deps.count, method, err.kind);
        const lastResult = { messageId: method.page.errorMessage(err) };
        await orders.start({ uid, broker: method.id, orderRef: null, payload: { requirement } as never, status: 'failed', lastResult }, deps.ttlSeconds);
      }
    },
    observe: (uid: string, who: Who) => read(uid, who, true),
    cancel,
    async setMode(uid: string, mode: StartMode): Promise<OrderPayload | undefined> {
      const row = await orders.find(uid);
      if (!row?.orderRef || row.status !== 'pending') return undefined;
      const payload = { ...(row.payload as unknown as OrderPayload), mode };
      await orders.updatePayload(uid, row.orderRef, payload as never);
      return payload;
    },
    /** Cancels upstream and deletes the orders whose interaction is gone; returns how many went. */
    async sweep(limit = 100): Promise<number> {
      const gone = await orders.abandoned(limit);
      for (const row of gone) await cancelOrder(row);
      return gone.length;
    },
  };
}

export type DecoupledFlow = ReturnType<typeof createDecoupledFlow>;

/** Runs the sweep every `intervalSeconds` on the one sweeper framework: never overlapping, never keeping the process alive, never crashing it. */
export function startOrderSweeper(flow: DecoupledFlow, intervalSeconds: number, onError: (err: unknown) => void): Sweeper {
  return startPeriodic('decoupled order sweep', intervalSeconds, () => flow.sweep(), onError);
}
