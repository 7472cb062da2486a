/**
 * Input checks of the RP API v6.0 (shared/reference/BANKID-SE.md). Pure; each failure is
 * invalidParameters with a `details` that names the field. Rules:
 * - auth and sign need `endUserIp` (an IPv4 or IPv6 address); sign needs `userVisibleData`;
 * - phone/auth and phone/sign need `personalNumber` and `callInitiator` (`user` or `RP`), no endUserIp;
 * - a personal number (top-level for phone, `requirement.personalNumber` otherwise) is 12 digits with a
 *   valid Luhn digit and birth date (samordningsnummer allowed);
 * - `userVisibleData` and `userNonVisibleData` are standard base64; `userVisibleDataFormat` is
 *   `simpleMarkdownV1`; the other requirement fields have their documented types;
 * - fields the mock does not know are ignored, as a newer API version may add some.
 */
import net from 'node:net';
import { invalidParameters } from './errors.js';
import { isObject } from './json-body.js';
import { isSwedishPersonalNumber } from './personal-number.js';

export const ORDER_ENDPOINTS = ['auth', 'sign', 'phone/auth', 'phone/sign'] as const;
export type OrderEndpoint = (typeof ORDER_ENDPOINTS)[number];

export interface OrderRequest {
  type: 'auth' | 'sign';
  channel: 'app' | 'phone';
  endUserIp?: string;
  personalNumber?: string;
  callInitiator?: 'user' | 'RP';
  userVisibleData?: string;
  userNonVisibleData?: string;
  returnRisk?: boolean;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const VISIBLE_MAX = 40_000;
const NON_VISIBLE_MAX = 200_000;

function base64Field(body: Record<string, unknown>, name: string, max: number, required: boolean): string | undefined {
  const value = body[name];
  if (value === undefined) {
    if (required) throw invalidParameters(`${name} is required`);
    return undefined;
  }
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !BASE64.test(value)) {
    throw invalidParameters(`Invalid ${name}: 1–${max} characters of base64`);
  }
  return value;
}

function checkRequirement(requirement: unknown): string | undefined {
  if (requirement === undefined) return undefined;
  if (!isObject(requirement)) throw invalidParameters('Invalid requirement');
  for (const flag of ['pinCode', 'mrtd']) {
    if (requirement[flag] !== undefined && typeof requirement[flag] !== 'boolean') throw invalidParameters(`Invalid requirement.${flag}`);
  }
  const { cardReader, certificatePolicies, personalNumber } = requirement;
  if (cardReader !== undefined && cardReader !== 'class1' && cardReader !== 'class2') throw invalidParameters('Invalid requirement.cardReader');
  if (certificatePolicies !== undefined && !(Array.isArray(certificatePolicies) && certificatePolicies.every((p) => typeof p === 'string'))) {
    throw invalidParameters('Invalid requirement.certificatePolicies');
  }
  if (personalNumber === undefined) return undefined;
  if (!isSwedishPersonalNumber(personalNumber)) throw invalidParameters('Invalid requirement.personalNumber');
  return personalNumber;
}

export function validateOrderRequest(endpoint: OrderEndpoint, body: Record<string, unknown>): OrderRequest {
  const type = endpoint.endsWith('sign') ? 'sign' : 'auth';
  const channel = endpoint.startsWith('phone/') ? 'phone' : 'app';
  const request: OrderRequest = { type, channel };
  if (channel === 'app') {
    if (body.endUserIp === undefined) throw invalidParameters('endUserIp is required');
    if (typeof body.endUserIp !== 'string' || net.isIP(body.endUserIp) === 0) throw invalidParameters('Invalid endUserIp');
    request.endUserIp = body.endUserIp;
  } else {
    if (body.personalNumber === undefined) throw invalidParameters('personalNumber is required');
    if (!isSwedishPersonalNumber(body.personalNumber)) throw invalidParameters('Invalid personalNumber');
    if (body.callInitiator !== 'user' && body.callInitiator !== 'RP') throw invalidParameters('callInitiator must be user or RP');
    request.callInitiator = body.callInitiator;
  }
  const required = checkRequirement(body.requirement);
  // A phone order's person is its top-level personalNumber; a requirement may only repeat it.
  if (channel === 'phone' && required && required !== body.personalNumber) throw invalidParameters('requirement.personalNumber differs from personalNumber');
  request.personalNumber = channel === 'phone' ? (body.personalNumber as string) : required;
  request.userVisibleData = base64Field(body, 'userVisibleData', VISIBLE_MAX, type === 'sign');
  request.userNonVisibleData = base64Field(body, 'userNonVisibleData', NON_VISIBLE_MAX, false);
  if (body.userVisibleDataFormat !== undefined && body.userVisibleDataFormat !== 'simpleMarkdownV1') throw invalidParameters('Invalid userVisibleDataFormat');
  if (body.returnRisk !== undefined && typeof body.returnRisk !== 'boolean') throw invalidParameters('Invalid returnRisk');
  if (body.returnRisk === true) request.returnRisk = true;
  for (const name of ['returnUrl', 'web', 'app'] as const) {
    const value = body[name];
    const ok = value === undefined || (name === 'returnUrl' ? typeof value === 'string' && value.length > 0 : isObject(value));
    if (!ok) throw invalidParameters(`Invalid ${name}`);
  }
  return request;
}

export function validateOrderRef(body: Record<string, unknown>): string {
  const { orderRef } = body;
  if (orderRef === undefined) throw invalidParameters('orderRef is required');
  if (typeof orderRef !== 'string' || orderRef.length === 0 || orderRef.length > 100) throw invalidParameters('Invalid orderRef');
  return orderRef;
}
