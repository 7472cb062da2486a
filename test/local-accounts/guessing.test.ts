/**
 * The code-guessing budget belongs to the address, on each dialect: at most CODE_MAX_FAILURES_PER_ADDRESS
 * wrong codes in 24 hours over registration, reset and every resend; then no code is compared (not even
 * the right one), no code is mailed, and the page says from when the person can try again, in their
 * language; the counter is keyed by a keyed hash, never the address; concurrent guesses cannot exceed
 * the budget (PostgreSQL with a connection pool). Time moves with the injected clock; the flows read it,
 * and every interaction used after a move is started after it.
 */
import { ManualClock } from '../support/manual-clock.js';
import { formatMoment } from '../../src/i18n/time.js';
import type { Locale } from '../../src/i18n/locales.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { Browser, type Page } from '../support/browser.js';
import { alertText, beginLogin, enterCode, requestCode, type Login } from '../support/local-accounts.js';

const DAY = 24 * 3600 * 1000;
/** The moment a page states: rounded up to the minute, as the page does. */
const stated = (locale: Locale, until: number) => formatMoment(locale, Math.ceil(until / 60_000) * 60_000);

describe.each(dialects)('the code-guessing budget of an address on %s', (dialect) => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let server: RunningService;
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 9, 0, 0));

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    smtp = await startSmtp();
    // Generous send limits: this file is about guessing, not about sending.
    server = await startService({ db, clock, env: { SMTP_URL: smtp.url, CODE_SENDS_PER_ADDRESS_HOURLY: '50', CODE_SENDS_PER_IP_HOURLY: '500' } });
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('rate_limits').del();
  });

  const wrong = (code: string) => (code === '000000' ? '111111' : '000000');
  const resend = async (login: Login, codePage: Page) => {
    clock.advance(61_000);
    return login.browser.submit(codePage, /\/resend$/, {});
  };

  test('ten wrong codes over two flows and a resend, then nothing is compared or sent until the stated time', async () => {
    const email = 'guessed@example.no';
    await db.knex('audit_events').del();
    const login = await beginLogin(server);
    let codePage = await requestCode(login, 'register', email);
    const seen: string[] = [];
    for (let i = 0; i < 4; i += 1) seen.push(alertText(await enterCode(login, codePage, wrong(smtp.codeFor(email)))));
    // The code's own five tries and the address's ten: the page shows the fewer.
    expect(seen).toEqual([4, 3, 2, 1].map((left) => `The code is wrong. You have ${left} tries left.`));

    // A resend brings a new code with five tries of its own, but the address has six left.
    codePage = await resend(login, codePage);
    expect(codePage.status).toBe(200);
    const right = smtp.codeFor(email);
    for (const left of [4, 3, 2, 1]) expect(alertText(await enterCode(login, codePage, wrong(smtp.codeFor(email))))).toBe(`The code is wrong. You have ${left} tries left.`);

    // A reset flow for the same address (it has no account, so its code is one nobody knows) shares the budget.
    const other = await beginLogin(server, { browser: new Browser(server.url) });
    const resetPage = await requestCode(other, 'reset', email);
    expect(alertText(await enterCode(other, resetPage, '123456'))).toBe('The code is wrong. You have 1 tries left.');
    const tenthAt = clock.now();
    const tenth = await enterCode(other, resetPage, '654321');
    expect(tenth.status).toBe(429);
    expect(alertText(tenth)).toBe(`Too many wrong codes have been entered for this e-mail address. You can try again from ${stated('en', tenthAt + DAY)}.`);

    // Now even the right code is not compared, and neither a resend nor a new flow mails anything.
    const refused = await enterCode(login, codePage, right);
    expect([refused.status, alertText(refused)]).toEqual([429, alertText(tenth)]);
    const mailsBefore = smtp.to(email).length;
    expect((await resend(login, codePage)).status).toBe(429);
    const again = await requestCode(await beginLogin(server), 'register', email);
    expect([again.status, alertText(again)]).toEqual([429, `Too many wrong codes have been entered for this e-mail address. You can try again from ${stated('en', tenthAt + DAY)}.`]);
    expect(smtp.to(email)).toHaveLength(mailsBefore);
    // Ten codes were compared in all (the audit trail records each comparison); the refused ones were not.
    const compared = await db.knex('audit_events').whereIn('event', ['registration.code_checked', 'recovery.code_checked']).whereRaw('detail like ?', ['%wrong_code%']);
    expect(compared).toHaveLength(10);

    // The counter is keyed by a keyed hash: the address is nowhere in the counters.
    const keys = (await db.knex('rate_limits').select('key')).map((r: { key: string }) => r.key);
    expect(keys.filter((k) => k.startsWith('code:address:'))).toHaveLength(1);
    expect(keys.join('\n')).not.toContain('guessed');

    // Another address is not affected.
    const bystander = await beginLogin(server);
    const bystanderPage = await requestCode(bystander, 'register', 'bystander@example.no');
    expect((await enterCode(bystander, bystanderPage, smtp.codeFor('bystander@example.no'))).html).toContain('autocomplete="new-password"');

    // One minute early is still refused; at the stated time the address may try again.
    clock.advance(tenthAt + DAY - 60_000 - clock.now());
    expect((await requestCode(await beginLogin(server), 'register', email)).status).toBe(429);
    clock.advance(tenthAt + DAY + 1 - clock.now());
    const fresh = await beginLogin(server);
    const freshPage = await requestCode(fresh, 'register', email);
    expect(freshPage.status).toBe(200);
    expect((await enterCode(fresh, freshPage, smtp.codeFor(email))).html).toContain('autocomplete="new-password"');
  });

  test.each<[Locale, string]>([
    ['nb', 'Det er skrevet inn feil kode for mange ganger for denne e-postadressen. Du kan prøve igjen fra'],
    ['en', 'Too many wrong codes have been entered for this e-mail address. You can try again from'],
    ['sv', 'Fel kod har angetts för många gånger för den här e-postadressen. Du kan försöka igen från'],
    ['uk', 'Для цієї адреси електронної пошти забагато разів введено неправильний код. Ви зможете спробувати знову з'],
  ])('the refusal is in the page language (%s), with the time', async (locale, text) => {
    const email = `locale-${locale}@example.no`;
    const login = await beginLogin(server, { params: { ui_locales: locale } });
    // The link's text is in the page's language: follow it by its address.
    const start = await login.browser.go(`${new URL(login.page.url).pathname}/register`);
    let codePage = await login.browser.submit(start, /\/register$/, { email });
    let last = codePage;
    for (let i = 0; i < 10; i += 1) {
      if (i === 5) codePage = await resend(login, codePage);
      last = await enterCode(login, codePage, wrong(smtp.codeFor(email)));
    }
    expect(last.status).toBe(429);
    expect(alertText(last)).toBe(`${text} ${stated(locale, clock.now() + DAY)}.`);
  });

  test('a right code costs nothing: nine wrong and one right leave one guess for the day', async () => {
    const email = 'careful@example.no';
    const login = await beginLogin(server);
    let codePage = await requestCode(login, 'register', email);
    for (let i = 0; i < 9; i += 1) {
      if (i === 4 || i === 8) codePage = await resend(login, codePage);
      await enterCode(login, codePage, wrong(smtp.codeFor(email)));
    }
    expect((await enterCode(login, codePage, smtp.codeFor(email))).html).toContain('autocomplete="new-password"');
    const next = await beginLogin(server);
    const nextPage = await requestCode(next, 'reset', email);
    expect((await enterCode(next, nextPage, '000000')).status).toBe(429);
  });

  test('concurrent wrong guesses cannot exceed the budget', async () => {
    const many = await startService({ db, clock, env: { SMTP_URL: smtp.url, CODE_MAX_ATTEMPTS: '100' } });
    try {
      const email = 'swarm@example.no';
      const login = await beginLogin(many);
      const codePage = await requestCode(login, 'register', email);
      const code = smtp.codeFor(email);
      await db.knex('audit_events').del();
      const pages = await Promise.all(Array.from({ length: 25 }, () => enterCode(login, codePage, wrong(code))));
      const flowId = codePage.url.split('/').at(-1)!;
      // Exactly ten codes were compared; every other guess was refused before the comparison.
      const row = await db.knex('self_service_flows').where({ id: flowId }).first();
      expect(Number(row.code_attempts)).toBe(10);
      const checked = await db.knex('audit_events').where({ event: 'registration.code_checked' }).whereRaw('detail like ?', ['%wrong_code%']);
      expect(checked).toHaveLength(10);
      expect(pages.filter((p) => p.status !== 400 && p.status !== 429)).toEqual([]);
      expect(pages.filter((p) => p.status === 429).length).toBeGreaterThanOrEqual(15);
    } finally {
      await many.close();
    }
  });
});
