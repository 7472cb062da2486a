/**
 * A bounded registration load for fault tests: workers register new e-mail accounts from the login page
 * to the RP's callback, step by step, and every step's outcome is counted as a success, a 503 or
 * anything else. A step that gets a 503 abandons its registration; the worker then waits at the gate
 * (opened by the test once the database is back) and starts a new one with a new address.
 * The password step stops before the login resumes, so "the creation got a success response" is known
 * per address: those are the accounts that must exist afterwards.
 */
import * as oidc from 'openid-client';
import { Browser, type Page } from './browser.js';
import { insecure } from './rp.js';
import { RP, type RunningService } from './service.js';
import type { TestSmtp } from './smtp.js';

export interface Tally {
  success: number;
  unavailable: number;
  other: Array<{ step: string; status: number; url: string; snippet: string }>;
  /** Addresses whose password step (the account's creation) was answered with success. */
  created: string[];
  /** Registrations that reached the RP's callback. */
  completed: number;
}

export interface LoadOptions {
  server: RunningService;
  smtp: TestSmtp;
  workers: number;
  /** Registrations each worker completes. */
  perWorker: number;
  /** Upper bound of registrations a worker starts (abandoned ones included). */
  maxAttemptsPerWorker: number;
  /** Awaited after a 503, before the next registration. */
  gate: () => Promise<void>;
  /** Called after every completed registration (the test uses it to strike mid-load). */
  onCompleted?: (tally: Tally) => void;
  tag: string;
}

export function newTally(): Tally {
  return { success: 0, unavailable: 0, other: [], created: [], completed: 0 };
}

const PASSWORD = 'Fjord7Lights';

/** Runs the load to its end; resolves with the tally once every worker is done. */
export async function runRegistrationLoad(opts: LoadOptions, tally: Tally = newTally()): Promise<Tally> {
  const config = await oidc.discovery(new URL(opts.server.url), 'pub', { token_endpoint_auth_method: 'none' }, oidc.None(), insecure);

  /** One step: 'ok' when it went on as expected, 'unavailable' on a 503, 'other' for anything else. */
  async function step(name: string, run: () => Promise<Page>, expected: (page: Page) => boolean): Promise<{ outcome: 'ok' | 'unavailable' | 'other'; page?: Page }> {
    let page: Page;
    try {
      page = await run();
    } catch (err) {
      tally.other.push({ step: name, status: -1, url: '', snippet: String(err).slice(0, 300) });
      return { outcome: 'other' };
    }
    if (page.status === 503) {
      tally.unavailable += 1;
      return { outcome: 'unavailable', page };
    }
    if (expected(page)) {
      tally.success += 1;
      return { outcome: 'ok', page };
    }
    tally.other.push({ step: name, status: page.status, url: page.url, snippet: page.html.replace(/\s+/g, ' ').slice(0, 300) });
    return { outcome: 'other', page };
  }

  const hasForm = (action: RegExp) => (page: Page) =>
    page.status === 200 && [...page.html.matchAll(/<form[^>]*action="([^"]+)"/g)].some((m) => action.test(m[1]!.replace(/&amp;/g, '&')));

  /** One registration; true when it reached the RP, false when a step was refused (503 or otherwise). */
  async function register(email: string): Promise<boolean> {
    const browser = new Browser(opts.server.url, 'en');
    const authUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid email',
      state: oidc.randomState(),
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const login = await step('login page', () => browser.go(authUrl.toString()), (p) => p.status === 200 && p.html.includes('Register now'));
    if (login.outcome !== 'ok') return false;
    const registerHref = /<a [^>]*href="([^"]+\/register)"/.exec(login.page!.html)?.[1]?.replace(/&amp;/g, '&');
    const start = await step('register page', () => browser.go(registerHref ?? '/missing-register-link'), hasForm(/\/register$/));
    if (start.outcome !== 'ok') return false;
    const codePage = await step('send code', () => browser.submit(start.page!, /\/register$/, { email }), hasForm(/\/code$/));
    if (codePage.outcome !== 'ok') return false;
    const passwordPage = await step('enter code', () => browser.submit(codePage.page!, /\/code$/, { code: opts.smtp.codeFor(email) }), hasForm(/\/password$/));
    if (passwordPage.outcome !== 'ok') return false;
    // The account is created here; the answer is the redirect that resumes the login (stopped at, not followed).
    const created = await step(
      'choose password',
      () => browser.submit(passwordPage.page!, /\/password$/, { password: PASSWORD, name: 'Load Tester' }, { stopAt: /\/auth\// }),
      (p) => p.status === 0 && /\/auth\//.test(p.url),
    );
    if (created.outcome !== 'ok') return false;
    tally.created.push(email);
    const back = await step('resume login', () => browser.go(created.page!.url), (p) => p.status === 0 && p.url.startsWith(RP) && p.url.includes('code='));
    return back.outcome === 'ok';
  }

  async function worker(index: number): Promise<void> {
    let done = 0;
    for (let attempt = 0; attempt < opts.maxAttemptsPerWorker && done < opts.perWorker; attempt += 1) {
      const email = `load-${opts.tag}-${index}-${attempt}@example.no`;
      if (await register(email)) {
        done += 1;
        tally.completed += 1;
        opts.onCompleted?.(tally);
      } else {
        await opts.gate();
      }
    }
  }

  await Promise.all(Array.from({ length: opts.workers }, (_, i) => worker(i)));
  return tally;
}
