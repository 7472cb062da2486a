/**
 * What a relying party and a person do in one login, and the load loop that repeats it. A login is
 * authorize → the provider's pages (ours: password, then consent; the bare oidc-provider's development
 * pages: any login, then confirm) → callback with a code → token request with client_secret_basic →
 * userinfo, each in a fresh browser session so that login and consent both happen every time. Every
 * request is bounded by a timeout, every loop by a count and a time cap.
 */
import * as oidc from 'openid-client';
import { Browser, type Page } from './browser.js';
import { ARGON2_OPTIONS, hashPassword, verifyPassword } from '../src/passwords/hasher.js';

export const REQUEST_TIMEOUT_MS = 30_000;

export class StepError extends Error {}
export function check(condition: boolean, step: string): asserts condition {
  if (!condition) throw new StepError(step);
}

/** How a provider's pages are passed: from the first page after /auth to the redirect to the client. */
export type Interact = (browser: Browser, first: Page) => Promise<Page>;

/** Our pages: the e-mail and password form, then the consent page. */
export function passwordAndConsent(account: { email: string; password: string }): Interact {
  return async (browser, first) => {
    check(first.status === 200 && first.html.includes('name="password"'), `authorize: expected the login page, got ${first.status} ${first.url}`);
    const consent = await browser.submit(first, /\/login$/, { email: account.email, password: account.password });
    check(consent.status === 200 && /action="[^"]*\/consent"/.test(consent.html), `login: expected the consent page, got ${consent.status} ${consent.url}`);
    return browser.submit(consent, /\/consent$/, {});
  };
}

/** oidc-provider's development pages (devInteractions): any login and password, then "Continue". */
export function developmentPages(login: string): Interact {
  // Both pages post to the interaction's own URL; a hidden `prompt` field tells them apart.
  const submitUrl = /\/interaction\/[^/]+$/;
  return async (browser, first) => {
    check(first.status === 200 && first.html.includes('name="login"'), `authorize: expected the development login page, got ${first.status} ${first.url}`);
    const consent = await browser.submit(first, submitUrl, { login, password: 'any' });
    check(consent.status === 200 && consent.html.includes('value="consent"'), `login: expected the development consent page, got ${consent.status} ${consent.url}`);
    return browser.submit(consent, submitUrl, {});
  };
}

export interface LoginTarget {
  url: string;
  config: oidc.Configuration;
  redirectUri: string;
  interact: Interact;
  /** The `sub` the tokens must name. */
  accountId: string;
}

/** The relying party's view of the issuer, over plain http on loopback. */
export async function discoverClient(url: string, clientId: string, clientSecret: string): Promise<oidc.Configuration> {
  const config = await oidc.discovery(new URL(url), clientId, {}, oidc.ClientSecretBasic(clientSecret), {
    execute: [oidc.allowInsecureRequests],
    timeout: REQUEST_TIMEOUT_MS / 1000,
  });
  config.timeout = REQUEST_TIMEOUT_MS / 1000;
  return config;
}

/** One full login; resolves with its tokens, throws with the failed step. */
export async function login(target: LoginTarget, scope = 'openid email profile'): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  const browser = new Browser(target.url, REQUEST_TIMEOUT_MS);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const authUrl = oidc.buildAuthorizationUrl(target.config, {
    redirect_uri: target.redirectUri,
    scope,
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const first = await browser.go(authUrl.toString());
  const page = await target.interact(browser, first);
  check(page.url.startsWith(`${target.redirectUri}?`), `consent: expected the redirect to the client, got ${page.status} ${page.url}`);
  const callback = new URL(page.url);
  check(callback.searchParams.has('code'), `callback without a code: ${page.url}`);
  const tokens = await oidc.authorizationCodeGrant(target.config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  check(tokens.claims()?.sub === target.accountId, 'token: id_token sub is not the account');
  const info = await oidc.fetchUserInfo(target.config, tokens.access_token, target.accountId);
  check(info.sub === target.accountId, 'userinfo: unexpected sub');
  return tokens;
}

export interface LoadResult {
  ok: number;
  failed: number;
  latenciesMs: number[];
  errors: Map<string, number>;
  seconds: number;
  capped: boolean;
}

/** Runs up to `count` logins with `concurrency` workers, starting none after `capMs` or once `stopped()`. */
export async function loadLogins(target: LoginTarget, count: number, concurrency: number, capMs: number, stopped: () => boolean = () => false): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failed: 0, latenciesMs: [], errors: new Map(), seconds: 0, capped: false };
  let started = 0;
  const start = performance.now();
  const worker = async () => {
    while (started < count && !stopped()) {
      if (performance.now() - start >= capMs) {
        result.capped = true;
        return;
      }
      started += 1;
      const t0 = performance.now();
      try {
        await login(target);
        result.ok += 1;
        result.latenciesMs.push(performance.now() - t0);
      } catch (err) {
        result.failed += 1;
        const message = err instanceof Error ? `${err.name === 'Error' || err instanceof StepError ? '' : `${err.name}: `}${err.message}` : String(err);
        const reason = message.replace(/\/interaction\/[^/\s]+/g, '/interaction/:uid'); // group by step, not by interaction
        result.errors.set(reason, (result.errors.get(reason) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  result.seconds = (performance.now() - start) / 1000;
  return result;
}

/** Sequential argon2id verifies on one thread, through the server's own verifyPassword (its parameters). */
export async function measureVerify(password: string, count: number, capMs: number) {
  const hash = await hashPassword(password);
  for (let i = 0; i < 2; i += 1) await verifyPassword(hash, password); // warm-up (and the dummy hash)
  let done = 0;
  const start = performance.now();
  while (done < count && performance.now() - start < capMs) {
    if (!(await verifyPassword(hash, password)).ok) throw new Error('argon2id verify of the correct password failed');
    done += 1;
  }
  const seconds = (performance.now() - start) / 1000;
  return { done, seconds, perSecond: done / seconds, capped: done < count, parameters: ARGON2_OPTIONS };
}
