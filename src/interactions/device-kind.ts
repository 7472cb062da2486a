/**
 * Is the person on a phone or tablet? BankID's guidelines put "open BankID on this device" first there
 * and the QR code first on a computer. Pure; decided from request headers on the server. Rules:
 * - `Sec-CH-UA-Mobile: ?1` (Chromium's client hint) means a phone;
 * - otherwise the User-Agent decides: iPhone, iPad, iPod, Android (phones and tablets alike), or any
 *   "Mobile"/"Tablet" token; a hint of `?0` does not overrule it (Android tablets send `?0`);
 * - an iPad that asks for the desktop site (Safari's default) looks like a Mac and gets the desktop order.
 */

const HANDHELD = /iPhone|iPad|iPod|Android|Mobile|Tablet|Silk|Kindle|Windows Phone/i;

export function isHandheld(headers: { userAgent?: string | undefined; chUaMobile?: string | undefined }): boolean {
  if (headers.chUaMobile?.trim() === '?1') return true;
  return HANDHELD.test(headers.userAgent ?? '');
}
