/**
 * The other playground scenarios, black-box with the test browser and the ID-porten mock: two logins
 * give two accounts, and the foreign-eID option is refused with its explanation (access_denied). Each
 * runs from its button, through the real pages, and the scenario page compares expected with actual.
 */
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { TEST_USER } from '../support/rp.js';
import { Browser, type Page } from '../support/browser.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import { ManualClock } from '../support/manual-clock.js';
import { atMock, chooseMethod, eidClientsFile, logInLocally, type Flow } from '../brokers/eid-support.js';
import { post } from './support.js';

const verdict = (page: Page) => /id="scenario-verdict" data-matches="(yes|no)"/.exec(page.html)?.[1];
const actuals = (page: Page) => [...page.html.matchAll(/<code class="scenario-actual">([^<]*)<\/code>/g)].map((m) => m[1]!);

describe('playground scenarios', () => {
  let db: TestDatabase;
  let server: RunningService;
  // BankID is collected at most every 2 s of this clock: the test moves it before it looks again.
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    server = await startService({ db, clock, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true', PLAYGROUND_ENABLED: 'true' } });
    await createLocalAccount(db, systemClock, TEST_USER);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  async function start(browser: Browser, id: string): Promise<Page> {
    const builder = await browser.go('/playground');
    const scenario = await post(browser, builder, `/playground/scenario/${id}`);
    expect(scenario.url).toMatch(new RegExp(`/playground/scenario/${id}$`));
    return scenario;
  }

  test('E-mail account and ID-porten are two accounts: two different subs', async () => {
    const browser = new Browser(server.url);
    const flow = { browser } as unknown as Flow;
    const scenario = await start(browser, 'two-accounts');
    expect(scenario.html).toContain('the two sub values differ');
    const login = await post(browser, scenario, '/playground/scenario/two-accounts/step');
    const afterFirst = await logInLocally(flow, login, TEST_USER.email, TEST_USER.password);
    expect(actuals(afterFirst)[0]).toMatch(/^acr=low, amr=pwd, sub=/);
    expect(verdict(afterFirst)).toBeUndefined();

    const second = await post(browser, afterFirst, '/playground/scenario/two-accounts/step');
    const mock = await chooseMethod(flow, second, 'idporten');
    const done = await atMock(flow, mock, { eid: 'minid' });
    const [first, then] = actuals(done);
    expect(then).toMatch(/^acr=substantial, amr=Minid-OTC, sub=/);
    expect(/sub=([^,]+)/.exec(first!)![1]).not.toBe(/sub=([^,]+)/.exec(then!)![1]);
    expect(verdict(done)).toBe('yes');
  });

  test('Foreign eID is always refused: the explanation, then access_denied', async () => {
    const browser = new Browser(server.url);
    const flow = { browser } as unknown as Flow;
    const scenario = await start(browser, 'foreign-eid');
    const login = await post(browser, scenario, '/playground/scenario/foreign-eid/step');
    const explanation = await chooseMethod(flow, login, 'foreign-eid');
    expect(explanation.html).toContain('Foreign electronic IDs cannot be used');
    const done = await browser.submit(explanation, /\/abort$/, {});
    expect(actuals(done)).toEqual(['error=access_denied']);
    expect(verdict(done)).toBe('yes');
  });

  test('BankID (Sweden): cancelled in the simulated app, then cancelled at the login page: access_denied', async () => {
    const browser = new Browser(server.url);
    const flow = { browser } as unknown as Flow;
    const scenario = await start(browser, 'bankid-se-cancel');
    const login = await post(browser, scenario, '/playground/scenario/bankid-se-cancel/step');
    const waiting = await chooseMethod(flow, login, 'bankid-se');
    const qr = /<code id="bankid-qr-data">([^<]+)<\/code>/.exec(waiting.html)![1]!;
    const tester = new Browser(server.url);
    const app = await tester.go(`/mock/bankid/app?qr=${encodeURIComponent(qr)}`);
    const identified = await tester.submit(app, /\/mock\/bankid\/app\/[0-9a-f-]{36}$/, { action: 'identify', person: '198507099821' });
    await tester.submit(identified, /\/mock\/bankid\/app\/[0-9a-f-]{36}$/, { action: 'cancel' });
    clock.advance(2000);
    const failed = await browser.go(waiting.url);
    expect(failed.html).toContain('Action cancelled.');
    const interaction = new URL(waiting.url).pathname.replace(/\/bankid$/, '');
    const methods = await browser.go(interaction);
    // The login page's "Cancel" button (formaction on the e-mail form).
    const done = await browser.submit(methods, /\/login$/, {}, { formaction: `${interaction}/abort` });
    expect(actuals(done)).toEqual(['error=access_denied']);
    expect(verdict(done)).toBe('yes');
  });

  test('a scenario step that does not happen as expected is marked as not matching', async () => {
    const browser = new Browser(server.url);
    const flow = { browser } as unknown as Flow;
    const scenario = await start(browser, 'udi-bankid-level4');
    const login = await post(browser, scenario, '/playground/scenario/udi-bankid-level4/step');
    // The tester cancels in the mock instead of logging in with BankID.
    const mock = await chooseMethod(flow, login, 'idporten');
    const cancelled = await atMock(flow, mock, { action: 'cancel' });
    const done = await browser.submit(cancelled, /\/abort$/, {});
    expect(actuals(done)).toEqual(['error=access_denied']);
    expect(verdict(done)).toBe('no');
  });
});
