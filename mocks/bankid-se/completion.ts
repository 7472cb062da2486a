/**
 * The completionData of a finished order, in BankID's exact shape: user, device, bankIdIssueDate,
 * stepUp, signature and ocspResponse (base64), and risk only when the order asked for it. The
 * signature is an XML document shaped like BankID's, "signed" with an HMAC under the mock's key: it
 * looks the part and is stable for the order, but no relying party can (or should) verify it.
 */
import crypto from 'node:crypto';
import { fullName, type TestPerson } from './persons.js';
import type { CompletionData, Order } from './orders.js';

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A stable device id per person, as BankID's uhi is per device: base64 of a SHA-1 digest. */
function uhiOf(personalNumber: string): string {
  return crypto.createHash('sha1').update(`nordlys-mock-bankid-device\n${personalNumber}`).digest('base64');
}

export function buildCompletionData(order: Order, person: TestPerson, deviceIp: string, signingKey: string, now: number): CompletionData {
  const funcId = order.type === 'sign' ? 'Signing' : 'Identification';
  const signedData = [
    '<bankIdSignedData xmlns="http://www.bankid.com/signature/v1.0.0/types" Id="bidSignedData">',
    order.userVisibleData ? `<usrVisibleData charset="UTF-8" visible="wysiwys">${order.userVisibleData}</usrVisibleData>` : '',
    order.userNonVisibleData ? `<usrNonVisibleData>${order.userNonVisibleData}</usrNonVisibleData>` : '',
    `<srvInfo><name>${escapeXml(fullName(person))}</name><nonce>${crypto.randomBytes(20).toString('base64')}</nonce></srvInfo>`,
    `<clientInfo><funcId>${funcId}</funcId><host><ipAddress>${escapeXml(deviceIp)}</ipAddress></host></clientInfo>`,
    `<env><orderRef>${escapeXml(order.orderRef)}</orderRef><time>${new Date(now).toISOString()}</time></env>`,
    '</bankIdSignedData>',
  ].join('');
  const digest = crypto.createHash('sha256').update(signedData).digest('base64');
  const value = crypto.createHmac('sha256', signingKey).update(digest).digest('base64');
  const signature = [
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
    '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">',
    `<SignedInfo><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI="#bidSignedData"><DigestValue>${digest}</DigestValue></Reference></SignedInfo>`,
    `<SignatureValue>${value}</SignatureValue>`,
    `<Object>${signedData}</Object>`,
    '</Signature>',
  ].join('');
  // A DER SEQUENCE header and random content: opaque bytes of a plausible size, as a real one is to an RP.
  const ocsp = Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0xfc]), crypto.randomBytes(508)]);
  return {
    user: { personalNumber: person.personalNumber, name: fullName(person), givenName: person.givenName, surname: person.surname },
    device: { ipAddress: deviceIp, uhi: uhiOf(person.personalNumber) },
    bankIdIssueDate: person.bankIdIssueDate,
    stepUp: { mrtd: false },
    signature: Buffer.from(signature, 'utf8').toString('base64'),
    ocspResponse: ocsp.toString('base64'),
    ...(order.returnRisk ? { risk: 'low' as const } : {}),
  };
}
