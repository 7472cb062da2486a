/**
 * Test helpers for registration and password reset: start a login at a relying party (openid-client,
 * public client with PKCE), follow the login page's links the way a person would, read codes from the
 * loopback SMTP server, and redeem the code the RP gets back.
 */
import * as oidc from 'openid-client';
import { Browser, type Page } from './browser.js';
import { RP, type RunningService } from './service.js';
import { insecure } from './rp.js';
import type { TestSmtp } from './smtp.js';

export interface Login {
  browser: Browser;
  page: Page;
  redeem(callback: Page): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers>;
  config: oidc.Configuration;
}

/** Opens an authorization request of the first-party public client and returns the login page. */
export async function beginLogin(
  server: RunningService,
  opts: { params?: Record<string, string>; browser?: Browser; acceptLanguage?: string } = {},
): Promise<Login> {
  const config = await oidc.discovery(new URL(server.url), 'pub', { token_endpoint_auth_method: 'none' }, oidc.None(), insecure);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP,
    scope: 'openid email profile',
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...opts.params,
  });
  const browser = opts.browser ?? new Browser(server.url, opts.acceptLanguage ?? 'en');
  const page = await browser.go(url.toString());
  return {
    browser,
    page,
    config,
    redeem: (callback) => {
      if (!callback.url.startsWith(RP)) throw new Error(`not back at the RP: ${callback.status} ${callback.url}\n${callback.html.slice(0, 1500)}`);
      return oidc.authorizationCodeGrant(config, new URL(callback.url), { pkceCodeVerifier: verifier, expectedState: state });
    },
  };
}

/** The href of the link on the page whose text is `text`. */
export function linkHref(page: Page, text: string): string {
  for (const m of page.html.matchAll(/<a [^>]*href="([^"]+)"[^>]*>([^<]*)<\/a>/g)) {
    if (m[2]!.trim() === text) return m[1]!.replace(/&amp;/g, '&');
  }
  throw new Error(`no link "${text}" on ${page.url}:\n${page.html.slice(0, 2000)}`);
}

/** The text of the page's alert (error or notice), whitespace collapsed. */
export function alertText(page: Page): string {
  const m = /<div class="alert[^"]*"[^>]*>([\s\S]*?)<\/div>/.exec(page.html);
  return m ? m[1]!.replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim() : '';
}

export type FlowPath = 'register' | 'reset';

/** From the login page: follow the link, enter the address, send the code; returns the code page. */
export async function requestCode(login: Login, path: FlowPath, email: string): Promise<Page> {
  const start = await login.browser.go(linkHref(login.page, path === 'register' ? 'Register now' : 'Forgot your password?'));
  if (start.status !== 200) throw new Error(`start page: ${start.status}\n${start.html.slice(0, 1500)}`);
  return login.browser.submit(start, new RegExp(`/${path}$`), { email });
}

export async function enterCode(login: Login, codePage: Page, code: string): Promise<Page> {
  return login.browser.submit(codePage, /\/code$/, { code });
}

export async function choosePassword(login: Login, passwordPage: Page, fields: { password: string; name?: string }): Promise<Page> {
  return login.browser.submit(passwordPage, /\/password$/, fields);
}

/** The whole registration from the login page to the RP's callback. */
export async function registerThrough(login: Login, smtp: TestSmtp, input: { email: string; password: string; name: string }): Promise<Page> {
  const codePage = await requestCode(login, 'register', input.email);
  const passwordPage = await enterCode(login, codePage, smtp.codeFor(input.email));
  return choosePassword(login, passwordPage, { password: input.password, name: input.name });
}
