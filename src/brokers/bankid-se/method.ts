/**
 * Swedish BankID as a login method (a decoupled one): its names, its waiting page (`/bankid`, the QR
 * code of the current second, "BankID on this device"), BankID's recommended messages (RFA) for every
 * state and failure, and its personnummer released as OIDC Sweden's claim. Rules: the person's own
 * cancel in the app is no refusal of ours; "on this device" goes to the configured app URL (the mock's
 * simulated app) or, without one, to the real app's link for a phone or a computer.
 */
import fs from 'node:fs';
import { SWEDISH_PNR_CLAIM } from '../../policies/claims.js';
import { errorPages } from '../error-pages.js';
import type { DecoupledMethod, MethodModule } from '../method.js';
import { BANKID_SE, BankidError, createBankidBroker } from './broker.js';
import { bankidEnv, bankidRefusals, bankidSettings, type BankidSettings } from './config.js';
import { rfaForFailed, rfaForPending, type Rfa, type StartMode } from './hints.js';
import { autoStartUrl } from './qr.js';

const rfa = (code: Rfa) => `rfa.${code}` as const;
const modeOf = (mode: string): StartMode => (mode === 'same-device' ? 'same-device' : 'qr');
const read = (file: string | undefined) => (file ? fs.readFileSync(file) : undefined);

export const bankidMethod = {
  kind: 'bankid-se',
  env: bankidEnv,
  settings: bankidSettings,
  ids: () => [BANKID_SE],
  refusals: bankidRefusals,
  timeouts: (s) => [{ variable: 'BANKID_TIMEOUT_MS', ms: s.timeoutMs }],
  standIn: (s) => (s.mockUrl ? { mock: 'bankid-se', url: s.mockUrl } : undefined),

  async open(s, deps) {
    if (!s.baseUrl) return [];
    const broker = createBankidBroker({
      baseUrl: s.baseUrl,
      tls: s.pfxFile ? { pfx: read(s.pfxFile), passphrase: s.passphrase, ca: read(s.caFile) } : undefined,
      timeoutMs: s.timeoutMs,
      clock: deps.clock,
      observe: (call, seconds, ok) => deps.observe('bankid-se', call, seconds, ok),
    });
    const method: DecoupledMethod = {
      id: BANKID_SE,
      kind: 'bankid-se',
      capability: 'decoupled',
      // Swedish BankID is certified at Swedish LoA 3 = eIDAS substantial.
      reachable: broker.reachable,
      displayName: { id: 'method.bankid-se' },
      hint: () => ({ id: 'method.bankid-se.hint' }),
      errors: errorPages(undefined),
      nationalIdClaim: SWEDISH_PNR_CLAIM,
      broker,
      page: {
        path: 'bankid',
        view: 'bankid.njk',
        show: (state) => ({ qr: broker.qrData(state) }),
        sameDeviceUrl(state, { handheld }) {
          const token = String(state.autoStartToken);
          return s.appUrl ? `${s.appUrl}?autostarttoken=${encodeURIComponent(token)}` : autoStartUrl(token, { mobile: handheld });
        },
        pendingMessage: (hint, view) => rfa(rfaForPending(hint ?? 'outstandingTransaction', modeOf(view.mode), view.handheld)),
        failed: (reason, mode) => ({ messageId: rfa(rfaForFailed(reason, modeOf(mode))), byPerson: reason === 'userCancel' }),
        errorMessage: (err) => (err instanceof BankidError ? rfa(err.rfa) : 'rfa.RFA22'),
      },
    };
    return [method];
  },
} satisfies MethodModule<typeof bankidEnv, BankidSettings>;
