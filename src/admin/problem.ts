/**
 * RFC 9457 problem details for the admin API: application/problem+json with type, title, status and
 * detail, plus `errors` naming each bad field (`{ field, message }`). Rules: nothing from a stored secret
 * or token ever goes into a problem; an unexpected error is a bare 500 problem whose cause is only logged,
 * and an unavailable database is 503 with Retry-After.
 */
import type { Context } from 'koa';
import type { FieldProblem } from './clients-service.js';

// A URN: a problem type names the kind of problem without promising a page to fetch (RFC 9457 §3.1.1).
export const PROBLEM_BASE = 'urn:nordlys:problem:';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldProblem[];
}

export function sendProblem(ctx: Context, status: number, slug: string, title: string, detail?: string, errors?: FieldProblem[]): void {
  const body: Problem = { type: `${PROBLEM_BASE}${slug}`, title, status, ...(detail ? { detail } : {}), ...(errors?.length ? { errors } : {}) };
  ctx.status = status;
  ctx.type = 'application/problem+json';
  ctx.body = body;
}
