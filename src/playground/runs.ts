/**
 * Starting a request and reading its outcome. Rules:
 * - a request from a built-in client gets fresh state, nonce and PKCE verifier, kept server-side in
 *   the browser's playground session; the callback accepts only a state that session is waiting for;
 * - the code is redeemed server-side; tokens are decoded and checked, userinfo fetched, and the token
 *   request kept as curl with its secrets elided;
 * - a configured client's request is only shown (its callback is not ours), with its verifier.
 */
import * as oidc from 'openid-client';
import { isBuiltIn, playgroundCallback } from './clients.js';
import { curlFor, problemOf, type RelyingParty } from './relying-party.js';
import { authorizationParams, openidClientSnippet, type RequestSpec } from './request-spec.js';
import { observe, type RunResult } from './results.js';
import { nextStep, scenarioById, type Scenario } from './scenarios.js';
import type { PendingRequest, SessionHandle } from './session.js';

export interface PreparedRequest {
  authUrl: string;
  snippet: string;
  /** Shown for a configured client, which redeems the code itself. */
  verifier?: string;
  external: boolean;
}

export function createRuns(issuer: string, rp: RelyingParty, redirectUriOf: (clientId: string) => Promise<string | undefined>, confidential: (clientId: string) => Promise<boolean>, scenarios: Scenario[]) {
  async function prepare(session: SessionHandle, spec: RequestSpec, scenario?: { id: string; step: number }): Promise<PreparedRequest> {
    const external = !isBuiltIn(spec.clientId);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const redirectUri = external ? ((await redirectUriOf(spec.clientId)) ?? '') : playgroundCallback(issuer);
    const params = authorizationParams(spec, { redirectUri, state, nonce, codeChallenge: await oidc.calculatePKCECodeChallenge(verifier) });
    const mode = external ? { par: false, jar: false } : { par: spec.par, jar: spec.jar };
    const url = (await rp.authorizationUrl(spec.clientId, params, mode)).toString();
    const snippet = openidClientSnippet(issuer, { ...spec, ...mode }, params, await confidential(spec.clientId));
    if (external) return { authUrl: url, snippet, verifier, external };
    const pending: PendingRequest = { state, nonce, verifier, spec, authUrl: url, ...(scenario ? { scenario } : {}) };
    session.remember(pending);
    await session.save();
    return { authUrl: url, snippet, external };
  }

  /** Reads the authorization response; undefined when this session did not send that state. */
  async function complete(session: SessionHandle, query: URLSearchParams): Promise<RunResult | undefined> {
    const pending = session.take(query.get('state') ?? '');
    if (!pending) return undefined;
    const result: RunResult = {
      spec: pending.spec,
      authUrl: pending.authUrl,
      response: Object.fromEntries(query),
      actions: [],
      ...(pending.scenario ? { scenario: pending.scenario } : {}),
    };
    const error = query.get('error');
    if (error) {
      result.problem = { error, ...(query.get('error_description') ? { description: query.get('error_description')! } : {}) };
    } else {
      await redeem(result, pending, query);
    }
    session.state.result = result;
    recordScenario(session, result);
    await session.save();
    return result;
  }

  async function redeem(result: RunResult, pending: PendingRequest, query: URLSearchParams): Promise<void> {
    try {
      const { tokens, request } = await rp.redeem(pending.spec.clientId, new URL(`${playgroundCallback(issuer)}?${query.toString()}`), pending);
      await absorbTokens(result, tokens);
      result.curl = curlFor(request);
    } catch (err) {
      result.problem = problemOf(err);
    }
  }

  async function absorbTokens(result: RunResult, tokens: oidc.TokenEndpointResponse): Promise<void> {
    result.tokenResponse = JSON.stringify(tokens, null, 2);
    result.tokens = {
      ...(tokens.access_token ? { accessToken: tokens.access_token } : {}),
      ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
      ...(tokens.id_token ? { idToken: tokens.id_token } : (result.tokens?.idToken ? { idToken: result.tokens.idToken } : {})),
    };
    if (tokens.id_token) {
      const decoded = await rp.decode(tokens.id_token);
      if (decoded) result.idToken = decoded;
    }
    const accessDecoded = tokens.access_token ? await rp.decode(tokens.access_token) : undefined;
    if (accessDecoded) result.accessTokenDecoded = accessDecoded;
    else delete result.accessTokenDecoded;
    const sub = result.idToken?.claims.sub;
    if (tokens.access_token && typeof sub === 'string') {
      try {
        result.userinfo = JSON.stringify(await rp.userinfo(result.spec.clientId, tokens.access_token, sub), null, 2);
        delete result.userinfoProblem;
      } catch (err) {
        result.userinfoProblem = problemOf(err);
      }
    }
  }

  function recordScenario(session: SessionHandle, result: RunResult): void {
    const progress = session.state.scenario;
    if (!result.scenario || !progress || progress.id !== result.scenario.id) return;
    const scenario = scenarioById(scenarios, progress.id);
    if (!scenario || nextStep(scenario, progress.observations) !== result.scenario.step) return; // a stale step
    // A step checked again replaces its previous outcome.
    progress.observations.splice(result.scenario.step, Infinity, observe(result));
  }

  /** The refresh button: new tokens replace the old ones on the page; the exchange is logged. */
  async function refresh(result: RunResult): Promise<void> {
    const token = result.tokens?.refreshToken;
    if (!token) return void result.actions.push({ kind: 'refresh', ok: false, problem: { error: 'playground.problem.no_refresh_token' } });
    try {
      const { tokens, request } = await rp.refresh(result.spec.clientId, token);
      await absorbTokens(result, tokens);
      result.actions.push({ kind: 'refresh', ok: true, body: result.tokenResponse!, ...(curlFor(request) ? { curl: curlFor(request)! } : {}) });
    } catch (err) {
      result.actions.push({ kind: 'refresh', ok: false, problem: problemOf(err) });
    }
  }

  async function introspect(result: RunResult): Promise<void> {
    const token = result.tokens?.accessToken;
    if (!(await confidential(result.spec.clientId))) return void result.actions.push({ kind: 'introspect', ok: false, problem: { error: 'playground.problem.public_client' } });
    if (!token) return void result.actions.push({ kind: 'introspect', ok: false, problem: { error: 'playground.problem.no_access_token' } });
    try {
      result.actions.push({ kind: 'introspect', ok: true, body: JSON.stringify(await rp.introspect(result.spec.clientId, token), null, 2) });
    } catch (err) {
      result.actions.push({ kind: 'introspect', ok: false, problem: problemOf(err) });
    }
  }

  async function revoke(result: RunResult): Promise<void> {
    const token = result.tokens?.refreshToken ?? result.tokens?.accessToken;
    if (!token) return void result.actions.push({ kind: 'revoke', ok: false, problem: { error: 'playground.problem.no_access_token' } });
    try {
      await rp.revoke(result.spec.clientId, token);
      result.actions.push({ kind: 'revoke', ok: true, note: result.tokens?.refreshToken ? 'playground.revoked.refresh_token' : 'playground.revoked.access_token' });
    } catch (err) {
      result.actions.push({ kind: 'revoke', ok: false, problem: problemOf(err) });
    }
  }

  return { prepare, complete, refresh, introspect, revoke };
}

export type Runs = ReturnType<typeof createRuns>;
