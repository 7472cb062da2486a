/**
 * The playground's "Inactive for 30 minutes" scenario, black-box with the test browser: log in through the
 * playground's client, wait out the idle timeout, and "Check now" (prompt=none) gets login_required;
 * checked too early, the same button gets a code and the page says "not matching yet".
 *
 * Time: jest fakes only `Date` (as test/provider/session-timeouts.test.ts does), so oidc-provider, our
 * Clock and the playground's own openid-client all see the same moved time, while timers, sockets and the
 * database run for real. That they agree is proven there; here the login page's idle note, written from
 * oidc-provider's session and our stored reason, shows they agree on this path too.
 */
import { jest } from '@jest/globals';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { TEST_USER } from '../support/rp.js';
import { Browser, type Page } from '../support/browser.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import type { Clock } from '../../src/clock.js';
import { eidClientsFile, logInLocally, type Flow } from '../brokers/eid-support.js';
import { post } from './support.js';

const MINUTE = 60_000;
const IDLE_SECONDS = 1800;
const START = Date.UTC(2026, 2, 2, 8, 0, 0);
const clock: Clock = { now: () => Date.now() };
const advance = (ms: number) => jest.setSystemTime(Date.now() + ms);

const verdict = (page: Page) => /id="scenario-verdict" data-matches="(yes|no)"/.exec(page.html)?.[1];
const actuals = (page: Page) => [...page.html.matchAll(/<code class="scenario-actual">([^<]*)<\/code>/g)].map((m) => m[1]!);
const notYet = (page: Page) => page.html.includes('data-step-matches="not-yet"');
const button = (page: Page) => /<form method="post" action="\/playground\/scenario\/inactive\/step"[\s\S]*?<button[^>]*>([^<]+)<\/button>/.exec(page.html)?.[1];

describe.each(dialects)('the playground scenario "Inactive for 30 minutes" on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    jest.useFakeTimers({
      now: START,
      doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
    });
    db = await createTestDatabase(dialect);
    server = await startService({ db, clock, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true', PLAYGROUND_ENABLED: 'true' } });
    await createLocalAccount(db, clock, TEST_USER);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
    jest.useRealTimers();
  });

  /** Starts the scenario from its button on the playground page and logs in (step 1). */
  async function loggedIn(browser: Browser): Promise<Page> {
    const builder = await browser.go('/playground');
    expect(builder.html).toMatch(/action="\/playground\/scenario\/inactive"[\s\S]*?Inactive for 30 minutes<\/button>/);
    const scenario = await post(browser, builder, '/playground/scenario/inactive');
    expect(scenario.url).toMatch(/\/playground\/scenario\/inactive$/);
    const login = await post(browser, scenario, '/playground/scenario/inactive/step');
    const page = await logInLocally({ browser } as unknown as Flow, login, TEST_USER.email, TEST_USER.password);
    expect(page.url).toMatch(/\/playground\/scenario\/inactive$/);
    expect(actuals(page)[0]).toMatch(/^acr=low, amr=pwd, sub=[^,]+, pid=–, sid=[^,–]+, auth_time=2026-03-02T08:\d\d:\d\d\.000Z$/);
    return page;
  }

  test('after the idle timeout, "Check now" gets login_required and the scenario matches', async () => {
    jest.setSystemTime(START);
    const browser = new Browser(server.url);
    const waiting = await loggedIn(browser);
    // The wait is named from the service's setting, and how to shorten it by hand.
    expect(waiting.html).toContain('Do nothing for 30 minutes');
    expect(waiting.html).toContain('SESSION_IDLE_TIMEOUT_SECONDS=20 npm start');
    expect(button(waiting)).toBe('Check now');
    expect(verdict(waiting)).toBeUndefined();

    advance(IDLE_SECONDS * 1000 + 1000);
    const checked = await post(browser, waiting, '/playground/scenario/inactive/step');
    expect(checked.url).toMatch(/\/playground\/scenario\/inactive$/);
    expect(actuals(checked)[1]).toBe('error=login_required');
    expect(notYet(checked)).toBe(false);
    expect(verdict(checked)).toBe('yes');
    // Step 3 is left to the person, who is told what to look for on our login page.
    expect(checked.html).toContain('You were logged out because you were inactive for 30 minutes.');
    expect(checked.html).toContain('cannot read the provider’s login page');
    expect(button(checked)).toBe('Open the login page');

    // "Open the login page" is a real request: the login page with the note the person looks for.
    const loginPage = await post(browser, checked, '/playground/scenario/inactive/step');
    expect(loginPage.url).toMatch(/\/interaction\//);
    expect(loginPage.html).toContain('name="password"');
    expect(loginPage.html).toContain('You were logged out because you were inactive for 30 minutes.');
  });

  test('checked too early, the session is still active: not matching yet, and checking again later matches', async () => {
    jest.setSystemTime(START);
    const browser = new Browser(server.url);
    const waiting = await loggedIn(browser);

    advance(29 * MINUTE);
    const early = await post(browser, waiting, '/playground/scenario/inactive/step');
    expect(actuals(early)[1]).toMatch(/^acr=low, amr=pwd, sub=/);
    expect(notYet(early)).toBe(true);
    expect(early.html).toContain('Not matching yet — the session is still active; wait and check again.');
    expect(verdict(early)).toBeUndefined();
    expect(button(early)).toBe('Check now');

    // That check used the session: 29 more idle minutes are not enough…
    advance(29 * MINUTE);
    const stillEarly = await post(browser, early, '/playground/scenario/inactive/step');
    expect(notYet(stillEarly)).toBe(true);
    expect(verdict(stillEarly)).toBeUndefined();
    // …the full idle timeout after the last use is.
    advance(IDLE_SECONDS * 1000 + 1000);
    const checked = await post(browser, stillEarly, '/playground/scenario/inactive/step');
    expect(actuals(checked)).toHaveLength(2);
    expect(actuals(checked)[1]).toBe('error=login_required');
    expect(notYet(checked)).toBe(false);
    expect(verdict(checked)).toBe('yes');
  });
});
