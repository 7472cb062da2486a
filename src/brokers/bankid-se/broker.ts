/**
 * The Swedish BankID broker: a relying party of the RP API v6.0, of BankID's test or production
 * environment or of our mock (reference/BANKID-SE.md). Rules:
 * - BankID is LoA 3 / eIDAS substantial: a login that requires `high` is refused before calling BankID,
 *   and a completed order is still checked against the requirement. The broker reports the rank only:
 *   whether the acr we issue may say Sweden Connect's certified `loa3` or must say `uncertified-loa3`
 *   is the provider's to decide (policies/loa.ts, BANKID_SWEDEN_CONNECT_CERTIFIED);
 * - the order (orderRef, tokens, qrStartSecret, start time) is the broker state, stored by the caller:
 *   the browser gets only the autostart token and, every second, the current QR data;
 * - unknown hint codes are tolerated: pending stays pending, failed stays failed with the raw hint;
 * - the account key is the 12-digit personnummer (or samordningsnummer), Luhn-checked; anything else
 *   in a completed order is an invalid response;
 * - every failure is a BankidError carrying BankID's errorCode (if any) and the RFA message to show;
 * - cancelling an order that has already ended (`invalidParameters`) is not an error.
 */
import { BrokerError, type BrokerErrorKind, type BrokerState, type DecoupledBroker, type PollResult, type Requirement, type UpstreamIdentity } from '../types.js';
import { satisfies } from '../../policies/loa.js';
import { parseSwedishPersonalNumber } from '../../policies/national-id.js';
import type { Clock } from '../../clock.js';
import { createRpClient, RpApiError, RpTransportError, type RpTls } from './rp-client.js';
import { rfaForError, type Rfa } from './hints.js';
import { qrData, type QrState } from './qr.js';

export interface BankidBrokerConfig {
  /** E.g. `https://appapi2.test.bankid.com/rp/v6.0`, or the mock's `…/mock/bankid/rp/v6.0`. */
  baseUrl: string;
  /** The relying-party certificate and BankID's CA (mutual TLS); absent for the mock over http. */
  tls?: RpTls | undefined;
  /** Hard deadline of one call to BankID, in milliseconds. */
  timeoutMs: number;
  clock: Clock;
  /** Told how long each RP API call took (`auth`, `collect`, `cancel`) and whether it answered 2xx JSON. */
  observe?: ((call: string, seconds: number, ok: boolean) => void) | undefined;
}

/** The stored state of one BankID order. */
export interface BankidOrderState extends QrState {
  orderRef: string;
  autoStartToken: string;
}

export type BankidBroker = DecoupledBroker & {
  /** The QR data to show now (`bankid.<token>.<seconds>.<code>`); call it every second. */
  qrData(state: BrokerState): string;
};

export const BANKID_SE = 'bankid-se';
const BROKER = BANKID_SE;
const LEVEL = 'substantial';
/** BankID: "collect should be called every two seconds". */
export const COLLECT_INTERVAL_MS = 2000;

/** Every error of this broker: BankID's errorCode when it sent one, and the RFA message for the page. */
export class BankidError extends BrokerError {
  constructor(
    kind: BrokerErrorKind,
    message: string,
    readonly rfa: Rfa,
    readonly errorCode?: string,
    options?: { cause?: unknown },
  ) {
    super(BROKER, kind, message, options);
    this.name = 'BankidError';
  }
}

function fromRpError(err: unknown, call: string): BankidError {
  if (err instanceof RpApiError) {
    return new BankidError('upstream_error', `BankID refused ${call}: ${err.status} ${err.errorCode ?? '(no errorCode)'}`, rfaForError(err.errorCode), err.errorCode, { cause: err });
  }
  if (err instanceof RpTransportError && err.reason === 'timeout') return new BankidError('timeout', `BankID did not answer ${call} in time`, 'RFA5', undefined, { cause: err });
  if (err instanceof RpTransportError && err.reason === 'malformed') return new BankidError('invalid_response', `BankID's answer to ${call} is not JSON`, 'RFA22', undefined, { cause: err });
  return new BankidError('upstream_error', `BankID could not be reached for ${call}`, 'RFA5', undefined, { cause: err });
}

const invalid = (message: string): BankidError => new BankidError('invalid_response', message, 'RFA22');

const record = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The stored state is ours: a missing field is a bug or a corrupted store, not BankID's doing. */
function readOrder(state: BrokerState): BankidOrderState {
  const { orderRef, autoStartToken, qrStartToken, qrStartSecret, startedAt } = state;
  if (typeof orderRef !== 'string' || typeof autoStartToken !== 'string' || typeof qrStartToken !== 'string' || typeof qrStartSecret !== 'string' || typeof startedAt !== 'number') {
    throw new TypeError('not a BankID order state');
  }
  return { orderRef, autoStartToken, qrStartToken, qrStartSecret, startedAt };
}

function requireReachable(requirement: Requirement): void {
  if (!satisfies(LEVEL, requirement.minimum)) {
    throw new BankidError('insufficient_level', `BankID reaches ${LEVEL}, ${requirement.minimum} is required`, 'RFA22');
  }
}

function identityOf(completionData: unknown, now: Date): UpstreamIdentity {
  const user = record(record(completionData)?.user);
  if (!user) throw invalid('the completed BankID order has no user');
  const personalNumber = typeof user.personalNumber === 'string' && /^\d{12}$/.test(user.personalNumber) ? parseSwedishPersonalNumber(user.personalNumber, now) : undefined;
  if (!personalNumber) throw invalid('the completed BankID order has no valid 12-digit personal number');
  const name = text(user.name);
  const givenName = text(user.givenName);
  const surname = text(user.surname);
  return {
    broker: BROKER,
    subject: personalNumber.number,
    acr: LEVEL,
    amr: ['BankID'],
    claims: {
      national_id: personalNumber.number,
      birthdate: personalNumber.birthdate,
      ...(name ? { name } : {}),
      ...(givenName ? { given_name: givenName } : {}),
      ...(surname ? { family_name: surname } : {}),
    },
  };
}

export function createBankidBroker(config: BankidBrokerConfig): BankidBroker {
  const rp = createRpClient({ baseUrl: config.baseUrl, tls: config.tls, timeoutMs: config.timeoutMs });
  const call = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    let answer: unknown;
    const started = performance.now();
    try {
      answer = await rp.post(path, body);
      config.observe?.(path, (performance.now() - started) / 1000, true);
    } catch (err) {
      config.observe?.(path, (performance.now() - started) / 1000, false);
      throw fromRpError(err, path);
    }
    const object = record(answer);
    if (!object) throw invalid(`BankID's answer to ${path} is not a JSON object`);
    return object;
  };

  return {
    id: BROKER,
    capability: 'decoupled',
    reachable: [LEVEL],
    pollIntervalMs: COLLECT_INTERVAL_MS,
    // One collect may hold the order this long: a slow collect is never doubled.
    pollTimeoutMs: config.timeoutMs,

    async begin(requirement: Requirement, endUser: { ip: string }) {
      requireReachable(requirement);
      const answer = await call('auth', { endUserIp: endUser.ip });
      // The QR seconds count from the auth answer, not from our request.
      const startedAt = config.clock.now();
      const orderRef = text(answer.orderRef);
      const autoStartToken = text(answer.autoStartToken);
      const qrStartToken = text(answer.qrStartToken);
      const qrStartSecret = text(answer.qrStartSecret);
      if (!orderRef || !autoStartToken || !qrStartToken || !qrStartSecret) throw invalid('the BankID auth answer lacks orderRef, autoStartToken, qrStartToken or qrStartSecret');
      const state: BankidOrderState = { orderRef, autoStartToken, qrStartToken, qrStartSecret, startedAt };
      return { state: { ...state }, orderRef, display: { autoStartToken } };
    },

    async poll(state: BrokerState, requirement: Requirement): Promise<PollResult> {
      requireReachable(requirement);
      const order = readOrder(state);
      const answer = await call('collect', { orderRef: order.orderRef });
      if (answer.orderRef !== undefined && answer.orderRef !== order.orderRef) throw invalid('BankID answered collect for another order');
      const hint = text(answer.hintCode) ?? 'unknown';
      switch (answer.status) {
        case 'pending':
          return { status: 'pending', hint };
        case 'failed':
          return { status: 'failed', reason: hint };
        case 'complete':
          return { status: 'complete', identity: identityOf(answer.completionData, new Date(config.clock.now())) };
        default:
          throw invalid(`BankID answered collect with status ${String(answer.status)}`);
      }
    },

    async cancel(state: BrokerState): Promise<void> {
      const order = readOrder(state);
      try {
        await call('cancel', { orderRef: order.orderRef });
      } catch (err) {
        // Already finished or already cancelled: nothing left to cancel.
        if (err instanceof BankidError && err.errorCode === 'invalidParameters') return;
        throw err;
      }
    },

    qrData(state: BrokerState): string {
      return qrData(readOrder(state), config.clock.now());
    },
  } satisfies BankidBroker;
}
