/**
 * The BankID order of an interaction, as every instance sees it (store/decoupled-orders.ts). Rules:
 * - BankID is collected at most once per order per 2 seconds (its documented interval), by whichever
 *   poll claims the interval; the others read the stored result, so two polls never race for the one
 *   final answer and none records a failure for an order that completed;
 * - the winner of a completed order creates or finds the account and records the finished login; any
 *   poll can then hand it to the provider; the personnummer is never stored here;
 * - an order that is left (another method, abort, the interaction gone) is cancelled upstream once;
 *   a failed cancel is logged and left to BankID's own timeout (3 minutes).
 */
import { countFailure } from './broker-login.js';
import type { LoginCounters } from '../observability/metrics.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { AuditLog } from '../store/audit.js';
import type { DecoupledOrder, DecoupledOrders } from '../store/decoupled-orders.js';
import type { FederatedAccountRepository } from '../store/federated-accounts.js';
import { startPeriodic, type Sweeper } from '../store/sweeper.js';
import { BankidError, type BankidBroker } from '../brokers/bankid-se/broker.js';
import { rfaForFailed, type StartMode } from '../brokers/bankid-se/hints.js';
import { BrokerError, type BrokerState, type Requirement } from '../brokers/types.js';

/** BankID: "collect should be called every two seconds". */
export const COLLECT_INTERVAL_MS = 2000;
const METHOD = 'bankid-se';

export interface OrderPayload {
  state: BrokerState;
  requirement: Requirement;
  mode: StartMode;
}

export interface FinishedLogin {
  accountId: string;
  acr: string;
  amr: string[];
}

export type Observation =
  | { kind: 'none' }
  | { kind: 'pending'; hint: string; order: OrderPayload }
  | { kind: 'failed'; rfa: string }
  | { kind: 'complete'; login: FinishedLogin }
  | { kind: 'cancelled' };

export interface BankidOrderDeps {
  broker: BankidBroker;
  orders: DecoupledOrders;
  clock: Clock;
  federated: FederatedAccountRepository;
  audit: AuditLog;
  logger: Logger;
  /** How long one collect may hold the order: the upstream timeout, so a slow collect is never doubled. */
  leaseMs: number;
  ttlSeconds: number;
  /** Login metrics, counted where the outcome is recorded once (so racing polls count one login). */
  count: LoginCounters;
}

export interface Who {
  clientId: string;
  ip: string;
}

const rfaOf = (err: BrokerError) => (err instanceof BankidError ? err.rfa : 'RFA22');

export function createBankidOrders(deps: BankidOrderDeps) {
  const { orders } = deps;

  async function cancelOrder(row: DecoupledOrder | undefined): Promise<void> {
    if (!row) return;
    if (row.status === 'pending' && row.orderRef && (await orders.claimCancel(row.uid, row.orderRef))) {
      await deps.broker.cancel((row.payload as unknown as OrderPayload).state).catch((err: unknown) => deps.logger.warn({ err, broker: METHOD }, 'BankID cancel failed'));
    }
    await orders.destroy(row.uid);
  }
  const cancel = async (uid: string) => cancelOrder(await orders.find(uid, { expiredToo: true }));

  /** Asks BankID once (this poll won the interval) and stores what it said. */
  async function collect(uid: string, orderRef: string, order: OrderPayload, claimedAt: number, who: Who): Promise<Observation> {
    try {
      const result = await deps.broker.poll(order.state, order.requirement);
      if (result.status === 'pending') {
        await orders.recordCollect(uid, orderRef, claimedAt, 'pending', { hint: result.hint });
        return { kind: 'pending', hint: result.hint, order };
      }
      if (result.status === 'failed') {
        const rfa = rfaForFailed(result.reason, order.mode);
        if (await orders.recordCollect(uid, orderRef, claimedAt, 'failed', { rfa })) {
          await deps.audit.record({ event: `login.${METHOD}`, outcome: 'failure', clientId: who.clientId, ip: who.ip, detail: { reason: result.reason } });
          // BankID's own failures (the person cancelled, the order expired, …) are no refusal of ours.
          deps.count.login({ method: METHOD, outcome: result.reason === 'userCancel' ? 'cancelled' : 'failure' });
        }
        return read(uid, who);
      }
      const { identity } = result;
      const account = await deps.federated.loginWith(identity.broker, identity.subject, {
        ...(identity.claims.name ? { name: identity.claims.name } : {}),
        ...(identity.claims.given_name ? { given_name: identity.claims.given_name } : {}),
        ...(identity.claims.family_name ? { family_name: identity.claims.family_name } : {}),
        ...(identity.claims.birthdate ? { birthdate: identity.claims.birthdate } : {}),
      });
      const login: FinishedLogin = { accountId: account.accountId, acr: identity.acr, amr: identity.amr };
      if (await orders.recordCollect(uid, orderRef, claimedAt, 'complete', { login })) {
        await deps.audit.record({ event: `login.${METHOD}`, outcome: 'success', accountId: account.accountId, clientId: who.clientId, ip: who.ip, detail: { created: account.created } });
        deps.count.login({ method: METHOD, outcome: 'success', acr: identity.acr });
      }
      return read(uid, who);
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      deps.logger.warn({ broker: METHOD, kind: err.kind, message: err.message }, 'BankID collect failed');
      if (await orders.recordCollect(uid, orderRef, claimedAt, 'failed', { rfa: rfaOf(err) })) countFailure(deps.count, METHOD, err.kind);
      return read(uid, who);
    }
  }

  /** Where the order is: collects if this poll claims the interval, else reads the stored result. */
  async function read(uid: string, who: Who, mayCollect = false): Promise<Observation> {
    const row = await orders.find(uid);
    if (!row) return { kind: 'none' };
    const result = row.lastResult ?? {};
    switch (row.status) {
      case 'complete':
        return { kind: 'complete', login: result.login as FinishedLogin };
      case 'failed':
        return { kind: 'failed', rfa: typeof result.rfa === 'string' ? result.rfa : 'RFA22' };
      case 'cancelled':
        return { kind: 'cancelled' };
      default: {
        const order = row.payload as unknown as OrderPayload;
        if (mayCollect && row.orderRef) {
          const claimedAt = await orders.claimCollect(uid, row.orderRef, COLLECT_INTERVAL_MS, deps.leaseMs);
          if (claimedAt !== undefined) return collect(uid, row.orderRef, order, claimedAt, who);
        }
        return { kind: 'pending', hint: typeof result.hint === 'string' ? result.hint : 'outstandingTransaction', order };
      }
    }
  }

  return {
    /** Starts a new order for the interaction (cancelling any earlier one); a refusal is stored as a failure. */
    async begin(uid: string, requirement: Requirement, ip: string): Promise<void> {
      await cancel(uid);
      try {
        const { state } = await deps.broker.begin(requirement, { ip });
        const payload: OrderPayload = { state, requirement, mode: 'qr' };
        await orders.start({ uid, broker: METHOD, orderRef: String(state.orderRef), payload: payload as never, status: 'pending' }, deps.ttlSeconds);
      } catch (err) {
        if (!(err instanceof BrokerError)) throw err;
        countFailure(deps.count, METHOD, err.kind);
        await orders.start({ uid, broker: METHOD, orderRef: null, payload: { requirement } as never, status: 'failed', lastResult: { rfa: rfaOf(err) } }, deps.ttlSeconds);
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

export type BankidOrders = ReturnType<typeof createBankidOrders>;

/** Runs the sweep every `intervalSeconds` on the one sweeper framework: never overlapping, never keeping the process alive, never crashing it. */
export function startOrderSweeper(orders: BankidOrders, intervalSeconds: number, onError: (err: unknown) => void): Sweeper {
  return startPeriodic('BankID order sweep', intervalSeconds, () => orders.sweep(), onError);
}
