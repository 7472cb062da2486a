/**
 * BankID's animated QR code, as the app reads it (shared/reference/BANKID-SE.md). Pure. Rules:
 * - qrAuthCode = hex(HMAC-SHA256(key = qrStartSecret, message = whole seconds since the auth response));
 * - the data is `bankid.<qrStartToken>.<seconds>.<qrAuthCode>`, read strictly (lower-case hex, a UUID token);
 * - the code is compared in constant time; data whose seconds lie more than QR_MAX_AGE_SECONDS behind the
 *   order's age is stale, and more than QR_MAX_AHEAD_SECONDS ahead of it cannot have been shown yet.
 */
import crypto from 'node:crypto';

/** How old scanned data may be: the QR changes every second, and a tester copies and pastes it by hand. */
export const QR_MAX_AGE_SECONDS = 10;
/** Rounding and the relying party's own clock may put the data a little ahead of ours. */
export const QR_MAX_AHEAD_SECONDS = 2;

export function qrAuthCode(qrStartSecret: string, seconds: number): string {
  return crypto.createHmac('sha256', qrStartSecret).update(String(seconds)).digest('hex');
}

export function qrData(qrStartToken: string, qrStartSecret: string, seconds: number): string {
  return `bankid.${qrStartToken}.${seconds}.${qrAuthCode(qrStartSecret, seconds)}`;
}

export interface ScannedQr {
  qrStartToken: string;
  seconds: number;
  code: string;
}

const QR_PATTERN = /^bankid\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(\d{1,6})\.([0-9a-f]{64})$/;

export function parseQrData(text: string): ScannedQr | undefined {
  const match = QR_PATTERN.exec(text.trim());
  if (!match) return undefined;
  return { qrStartToken: match[1]!, seconds: Number(match[2]), code: match[3]! };
}

export type QrCheck = 'ok' | 'badCode' | 'stale' | 'ahead';

/** Checks scanned data against the order's secret and its age in whole seconds. */
export function checkQr(scanned: ScannedQr, qrStartSecret: string, orderAgeSeconds: number): QrCheck {
  const expected = Buffer.from(qrAuthCode(qrStartSecret, scanned.seconds));
  const given = Buffer.from(scanned.code);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return 'badCode';
  if (scanned.seconds < orderAgeSeconds - QR_MAX_AGE_SECONDS) return 'stale';
  if (scanned.seconds > orderAgeSeconds + QR_MAX_AHEAD_SECONDS) return 'ahead';
  return 'ok';
}
