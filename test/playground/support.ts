/** Drives the playground's pages with the test browser: the builder form, the buttons, the result. */
import { Browser, type Page } from '../support/browser.js';

export function csrfOf(page: Page): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(page.html)?.[1];
  if (!token) throw new Error(`no CSRF token on ${page.url}:\n${page.html.slice(0, 1500)}`);
  return token;
}

/** Posts a playground form with repeated fields (scope, acr_values) as a browser would. */
export function post(browser: Browser, from: Page, action: string, fields: Array<[string, string]> = [], opts: { stopAt?: RegExp } = {}): Promise<Page> {
  const body = new URLSearchParams([['_csrf', csrfOf(from)], ...fields]);
  return browser.go(action, { method: 'POST', body, ...opts });
}

/** Builds and runs a request from the builder; returns the first page of the provider (the login page). */
export async function runRequest(browser: Browser, fields: Array<[string, string]>): Promise<Page> {
  const builder = await browser.go('/playground');
  return post(browser, builder, '/playground/request', [...fields, ['run', 'open']]);
}

/** The text of a claim's value in the id_token table of a result page. */
export function claimValue(page: Page, name: string): string | undefined {
  const row = new RegExp(`<tr data-claim="${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}">[\\s\\S]*?<code class="claim-value">([^<]*)</code>`).exec(page.html);
  return row?.[1]?.replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

export function errorCode(page: Page): string | undefined {
  return /<code id="error-code">([^<]+)<\/code>/.exec(page.html)?.[1];
}
