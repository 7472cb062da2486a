/**
 * What one playground run produced, and what each part of it means. Rules:
 * - the authorization response, the token response, decoded tokens and userinfo are shown as they came;
 * - each id_token claim we know gets one line saying what it means here (acr as asked and as reached,
 *   amr, auth_time, sid, pid and when it is released, public or pairwise sub);
 * - each error code we know gets a line saying what it means for the integrator.
 */
import { lookupAcr } from '../policies/loa.js';
import type { MessageId } from '../i18n/messages/en.js';
import type { DecodedJwt, OAuthProblem } from './relying-party.js';
import type { RequestSpec } from './request-spec.js';

export interface ActionLog {
  kind: 'refresh' | 'introspect' | 'revoke' | 'userinfo';
  ok: boolean;
  body?: string;
  /** A line for the person, from the catalogue. */
  note?: MessageId;
  problem?: OAuthProblem;
  curl?: string;
}

export interface RunResult {
  spec: RequestSpec;
  authUrl: string;
  scenario?: { id: string; step: number };
  response: Record<string, string>;
  problem?: OAuthProblem;
  tokenResponse?: string;
  idToken?: DecodedJwt;
  accessTokenDecoded?: DecodedJwt;
  userinfo?: string;
  userinfoProblem?: OAuthProblem;
  curl?: string;
  actions: ActionLog[];
  /** Kept server-side for the buttons (refresh, introspect, revoke, logout). */
  tokens?: { accessToken?: string; refreshToken?: string; idToken?: string };
}

/** What a scenario compares: the outcome of one step. */
export interface Observation {
  error?: string;
  acr?: string;
  amr?: string[];
  sub?: string;
  /** The provider's session and when its login happened (epoch seconds). */
  sid?: string;
  authTime?: number;
  pidReleased: boolean;
}

export function observe(result: RunResult): Observation {
  const claims = result.idToken?.claims ?? {};
  const userinfo = result.userinfo ? (JSON.parse(result.userinfo) as Record<string, unknown>) : {};
  return {
    ...(result.problem ? { error: result.problem.error } : {}),
    ...(typeof claims.acr === 'string' ? { acr: claims.acr } : {}),
    ...(Array.isArray(claims.amr) ? { amr: claims.amr.map(String) } : {}),
    ...(typeof claims.sub === 'string' ? { sub: claims.sub } : {}),
    ...(typeof claims.sid === 'string' ? { sid: claims.sid } : {}),
    ...(typeof claims.auth_time === 'number' ? { authTime: claims.auth_time } : {}),
    pidReleased: typeof (claims.pid ?? userinfo.pid) === 'string',
  };
}

export interface ClaimLine {
  name: string;
  value: string;
  explanation?: { id: MessageId; params: Record<string, string> };
}

const time = (v: unknown) => (typeof v === 'number' ? new Date(v * 1000).toISOString() : String(v));
const rankOf = (acr: string) => lookupAcr(acr)?.rank ?? '?';

export function explainClaims(claims: Record<string, unknown>, spec: RequestSpec, subjectType: string): ClaimLine[] {
  const asked = [...spec.acrValues, ...(spec.essentialAcr ? [`${spec.essentialAcr} (claims: essential)`] : [])].join(', ') || '–';
  const simple: Record<string, MessageId> = {
    iss: 'playground.claim.iss',
    aud: 'playground.claim.aud',
    sid: 'playground.claim.sid',
    nonce: 'playground.claim.nonce',
    at_hash: 'playground.claim.at_hash',
    amr: 'playground.claim.amr',
    pid: 'playground.claim.pid',
    'https://id.oidc.se/claim/personalIdentityNumber': 'playground.claim.pid',
    name: 'playground.claim.profile',
    given_name: 'playground.claim.profile',
    family_name: 'playground.claim.profile',
    birthdate: 'playground.claim.profile',
    email: 'playground.claim.email',
    email_verified: 'playground.claim.email',
  };
  return Object.entries(claims).map(([name, raw]) => {
    const value = typeof raw === 'string' ? raw : JSON.stringify(raw);
    let explanation: ClaimLine['explanation'];
    if (name === 'acr' && typeof raw === 'string') explanation = { id: 'playground.claim.acr', params: { reached: raw, rank: rankOf(raw), asked } };
    else if (name === 'sub') explanation = { id: subjectType === 'pairwise' ? 'playground.claim.sub_pairwise' : 'playground.claim.sub', params: {} };
    else if (name === 'auth_time' || name === 'iat' || name === 'exp') explanation = { id: `playground.claim.${name}`, params: { time: time(raw) } };
    else if (simple[name]) explanation = { id: simple[name], params: {} };
    return { name, value, ...(explanation ? { explanation } : {}) };
  });
}

const KNOWN_ERRORS = [
  'unmet_authentication_requirements',
  'access_denied',
  'login_required',
  'interaction_required',
  'consent_required',
  'invalid_request',
  'invalid_scope',
  'invalid_grant',
  'server_error',
  'temporarily_unavailable',
  'playground_request_failed',
] as const;

export function errorMeaning(error: string): MessageId {
  return (KNOWN_ERRORS as readonly string[]).includes(error) ? (`playground.error.${error}` as MessageId) : 'playground.error.other';
}
