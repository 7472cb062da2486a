/**
 * The service's Prometheus metrics: one registry per service instance (tests run several instances in
 * one process, so prom-client's global default registry is never used), typed counters behind a small
 * `Metrics` interface, and the process defaults (collectDefaultMetrics, which includes event-loop lag).
 * Rules:
 * - every label value comes from a fixed set written here; anything else is counted as `other`, so no
 *   e-mail address, client-chosen text or unbounded id can ever become a label (or a new time series);
 * - no metric is labelled by client id: client_id is client-controlled on failed requests;
 * - with metrics off (neither METRICS_PORT nor METRICS_TOKEN) `disabledMetrics` counts nothing.
 */
import client from 'prom-client';

/** Login method kinds (src/brokers/method.ts): every configured OpenID upstream counts as `oidc`. */
export const LOGIN_METHODS = ['local', 'idporten', 'bankid-se', 'foreign-eid', 'oidc'] as const;
export const LOGIN_OUTCOMES = ['success', 'failure', 'cancelled'] as const;
export const ACRS = ['low', 'substantial', 'high', 'none'] as const;
export const REFUSAL_REASONS = ['level_too_low', 'throttled', 'foreign_eid', 'upstream_error'] as const;
export const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:openid:params:grant-type:ciba',
  'urn:ietf:params:oauth:grant-type:token-exchange',
] as const;
/** The OAuth 2.0 / OpenID Connect error codes oidc-provider answers with (RFC 6749, 6750, 8628, 9126, 9449, OIDC Core). */
export const OIDC_ERRORS = [
  'access_denied', 'account_selection_required', 'authorization_pending', 'consent_required', 'expired_token',
  'insufficient_scope', 'interaction_required', 'invalid_client', 'invalid_client_metadata', 'invalid_dpop_proof',
  'invalid_grant', 'invalid_redirect_uri', 'invalid_request', 'invalid_request_object', 'invalid_request_uri',
  'invalid_scope', 'invalid_software_statement', 'invalid_target', 'invalid_token', 'login_required',
  'registration_not_supported', 'request_not_supported', 'request_uri_not_supported', 'server_error', 'slow_down',
  'temporarily_unavailable', 'unapproved_software_statement', 'unauthorized_client', 'unmet_authentication_requirements',
  'unsupported_grant_type', 'unsupported_response_mode', 'unsupported_response_type', 'use_dpop_nonce',
] as const;
export const FLOWS = ['registration', 'reset'] as const;
export const FLOW_STAGES = ['started', 'completed'] as const;
export const MAIL_OUTCOMES = ['sent', 'failed'] as const;
export const DELIVERY_OUTCOMES = ['delivered', 'retry', 'given_up'] as const;
export const UPSTREAM_CALLS = { idporten: ['discovery', 'token', 'jwks', 'other'], 'bankid-se': ['auth', 'collect', 'cancel', 'other'], oidc: ['discovery', 'token', 'jwks', 'other'] } as const;
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

type Of<T extends readonly string[]> = T[number];
export type LoginMethod = Of<typeof LOGIN_METHODS>;
export type RefusalReason = Of<typeof REFUSAL_REASONS>;
export type UpstreamBroker = keyof typeof UPSTREAM_CALLS;

/** A value from the fixed set, or `other`: the one gate every label value passes. */
export function oneOf<T extends readonly string[]>(value: unknown, allowed: T): Of<T> | 'other' {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as Of<T>) : 'other';
}

export interface Metrics {
  login(login: { method: LoginMethod; outcome: Of<typeof LOGIN_OUTCOMES>; acr?: string | undefined }): void;
  refusal(reason: RefusalReason): void;
  tokenIssued(grantType: unknown): void;
  oidcError(endpoint: string, code: unknown): void;
  localFlow(flow: Of<typeof FLOWS>, stage: Of<typeof FLOW_STAGES>): void;
  mail(outcome: Of<typeof MAIL_OUTCOMES>): void;
  backchannel(outcome: Of<typeof DELIVERY_OUTCOMES>): void;
  upstream(broker: string, call: string, seconds: number, ok: boolean): void;
  httpRequest(route: string, method: string, status: number, seconds: number): void;
}

/** What a /metrics answer is read from: this process's registry, or a cluster's aggregate (metrics-cluster.ts). */
export interface ScrapeSource {
  /** The text exposition format. */
  scrape(): Promise<string>;
  contentType: string;
}

/** A scrape source that cannot answer now (a cluster's primary or worker silent); /metrics answers 503. */
export class MetricsUnavailableError extends Error {}

export interface MetricsRegistry extends ScrapeSource {
  metrics: Metrics;
  registry: client.Registry;
}

export const disabledMetrics: Metrics = {
  login: () => undefined,
  refusal: () => undefined,
  tokenIssued: () => undefined,
  oidcError: () => undefined,
  localFlow: () => undefined,
  mail: () => undefined,
  backchannel: () => undefined,
  upstream: () => undefined,
  httpRequest: () => undefined,
};

/** The knex pool as tarn exposes it (numUsed, numPendingAcquires, numFree). */
export interface PoolGauges {
  inUse(): number;
  waiting(): number;
  idle(): number;
}

/** Route templates we answer (a bounded set our code names) besides oidc-provider's route names. */
const MAX_ROUTE_LENGTH = 100;

export function createMetrics(options: { pool?: PoolGauges | undefined }): MetricsRegistry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'nordlys_' });
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new client.Counter<L>({ name: `nordlys_${name}`, help, labelNames, registers });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
    new client.Histogram<L>({ name: `nordlys_${name}`, help, labelNames, buckets, registers });

  const logins = counter('logins_total', 'Logins finished, by method, outcome and the level (acr rank) reached', ['method', 'outcome', 'acr']);
  const refusals = counter('login_refusals_total', 'Logins refused, by reason', ['reason']);
  const tokens = counter('tokens_issued_total', 'Token endpoint successes, by grant type', ['grant_type']);
  const oidcErrors = counter('oidc_errors_total', 'OIDC/OAuth errors answered, by endpoint event and error code', ['endpoint', 'error']);
  const flows = counter('local_account_flows_total', 'Registrations and password resets, started (code mailed) and completed', ['flow', 'stage']);
  const mails = counter('mails_total', 'Mails handed to the transport, by outcome', ['outcome']);
  const backchannel = counter('backchannel_logout_deliveries_total', 'Back-channel logout delivery attempts, by outcome', ['outcome']);
  const upstream = histogram('upstream_request_duration_seconds', 'Requests to upstream eID services, by broker, call and outcome', ['broker', 'call', 'outcome'], [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  const http = histogram('http_request_duration_seconds', 'HTTP requests, by route template (not raw path), method and status class', ['route', 'method', 'status'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15]);
  const pool = options.pool;
  if (pool) {
    new client.Gauge({ name: 'nordlys_db_pool_in_use', help: 'Database connections in use', registers, collect() { this.set(pool.inUse()); } });
    new client.Gauge({ name: 'nordlys_db_pool_waiting', help: 'Requests waiting for a database connection', registers, collect() { this.set(pool.waiting()); } });
    new client.Gauge({ name: 'nordlys_db_pool_idle', help: 'Idle database connections', registers, collect() { this.set(pool.idle()); } });
  }

  const metrics: Metrics = {
    login: ({ method, outcome, acr }) =>
      logins.inc({ method: oneOf(method, LOGIN_METHODS), outcome: oneOf(outcome, LOGIN_OUTCOMES), acr: acr === undefined ? 'none' : oneOf(acr, ACRS) }),
    refusal: (reason) => refusals.inc({ reason: oneOf(reason, REFUSAL_REASONS) }),
    tokenIssued: (grantType) => tokens.inc({ grant_type: oneOf(grantType, GRANT_TYPES) }),
    oidcError: (endpoint, code) => oidcErrors.inc({ endpoint: oneOf(endpoint, PROVIDER_ERROR_EVENTS), error: oneOf(code, OIDC_ERRORS) }),
    localFlow: (flow, stage) => flows.inc({ flow: oneOf(flow, FLOWS), stage: oneOf(stage, FLOW_STAGES) }),
    mail: (outcome) => mails.inc({ outcome: oneOf(outcome, MAIL_OUTCOMES) }),
    backchannel: (outcome) => backchannel.inc({ outcome: oneOf(outcome, DELIVERY_OUTCOMES) }),
    upstream: (broker, call, seconds, ok) => {
      const known = oneOf(broker, Object.keys(UPSTREAM_CALLS) as UpstreamBroker[]);
      upstream.observe({ broker: known, call: known === 'other' ? 'other' : oneOf(call, UPSTREAM_CALLS[known]), outcome: ok ? 'ok' : 'error' }, seconds);
    },
    httpRequest: (route, method, status, seconds) =>
      http.observe({ route: route.length <= MAX_ROUTE_LENGTH ? route : 'other', method: oneOf(method, HTTP_METHODS), status: `${Math.floor(status / 100)}xx` }, seconds),
  };
  return { metrics, registry, scrape: () => registry.metrics(), contentType: registry.contentType };
}

/** oidc-provider's documented error events (docs/events.md), counted by src/observability/metrics-provider.ts. */
export const PROVIDER_ERROR_EVENTS = [
  'authorization.error',
  'backchannel.error',
  'check_session_origin.error',
  'discovery.error',
  'end_session.error',
  'grant.error',
  'introspection.error',
  'jwks.error',
  'pushed_authorization_request.error',
  'registration_create.error',
  'registration_delete.error',
  'registration_read.error',
  'registration_update.error',
  'revocation.error',
  'userinfo.error',
  'server_error',
] as const;

/** What a login path needs: its outcome, and why it was refused. */
export type LoginCounters = Pick<Metrics, 'login' | 'refusal'>;
