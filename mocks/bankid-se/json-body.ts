/**
 * Reads a JSON request body by itself, with no body parser in front. Rules:
 * - the media type must be application/json (parameters such as charset allowed), or 415;
 * - at most MAX_JSON_BYTES are read; more, malformed JSON, or anything but an object is invalidParameters;
 * - a body some outer parser has already read is taken from ctx.request.body when it is an object.
 */
import type { Context } from 'koa';
import { readBody } from '../shared/body.js';
import { BankidApiError, invalidParameters } from './errors.js';

export const MAX_JSON_BYTES = 512 * 1024;

export function isJsonContentType(header: string | undefined): boolean {
  return (header ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
}

export async function readJsonObject(ctx: Context): Promise<Record<string, unknown>> {
  if (!isJsonContentType(ctx.get('content-type'))) {
    throw new BankidApiError('unsupportedMediaType', 'Content-Type must be application/json');
  }
  const req = ctx.req;
  if (req.readableEnded) {
    const parsed = (ctx.request as { body?: unknown }).body;
    if (isObject(parsed)) return parsed;
    throw invalidParameters('The request body could not be read');
  }
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > MAX_JSON_BYTES) throw invalidParameters('The request body is too large');
  const body = await readBody(req, MAX_JSON_BYTES);
  if (!body) throw invalidParameters('The request body is too large');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalidParameters('The request body is not valid JSON');
  }
  if (!isObject(value)) throw invalidParameters('The request body must be a JSON object');
  return value;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
