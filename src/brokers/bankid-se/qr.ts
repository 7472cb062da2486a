/**
 * BankID's animated QR code and autostart link (reference/BANKID-SE.md). Pure. Rules:
 * - qrAuthCode is hex(HMAC-SHA256(key = qrStartSecret, message = whole seconds since the auth answer));
 * - the QR data is `bankid.<qrStartToken>.<seconds>.<qrAuthCode>`, regenerated every second by the server:
 *   the secret stays in the stored broker state and only the current QR data reaches the browser;
 * - a clock that reads before the start counts as second 0, never as a negative second;
 * - same device: `https://app.bankid.com/?autostarttoken=…&redirect=<url or null>` on mobile,
 *   `bankid:///?autostarttoken=…&redirect=null` on desktop (the desktop app cannot return to a tab).
 */
import { createHmac } from 'node:crypto';

export interface QrState {
  qrStartToken: string;
  qrStartSecret: string;
  /** Epoch milliseconds of the auth answer. */
  startedAt: number;
}

export function qrAuthCode(qrStartSecret: string, seconds: number): string {
  return createHmac('sha256', qrStartSecret).update(String(seconds)).digest('hex');
}

export function qrData(state: QrState, now: number): string {
  const seconds = Math.max(0, Math.floor((now - state.startedAt) / 1000));
  return `bankid.${state.qrStartToken}.${seconds}.${qrAuthCode(state.qrStartSecret, seconds)}`;
}

export function autoStartUrl(autoStartToken: string, opts: { mobile: boolean; redirect?: string }): string {
  const token = encodeURIComponent(autoStartToken);
  if (!opts.mobile) return `bankid:///?autostarttoken=${token}&redirect=null`;
  const redirect = opts.redirect ? encodeURIComponent(opts.redirect) : 'null';
  return `https://app.bankid.com/?autostarttoken=${token}&redirect=${redirect}`;
}
