/**
 * Codes and flows expire, on each dialect, with an injected clock (no waiting): an expired code says
 * so and a new code works; a resend waits for its cooldown and retires the earlier code; an expired
 * flow is never a dead end — it shows the first page again, says what happened, keeps the address.
 */
import { ManualClock } from '../support/manual-clock.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { alertText, beginLogin, choosePassword, enterCode, requestCode } from '../support/local-accounts.js';

describe.each(dialects)('expiry of codes and flows on %s', (dialect) => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let server: RunningService;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    smtp = await startSmtp();
    server = await startService({ db, clock, env: { SMTP_URL: smtp.url, CODE_TTL_SECONDS: '300', CODE_RESEND_COOLDOWN_SECONDS: '60', FLOW_TTL_SECONDS: '1800' } });
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
    await db.close();
  });

  test('an expired code is refused with a way on; the resend waits for its cooldown; the new code works', async () => {
    const email = 'late@example.no';
    const login = await beginLogin(server);
    const codePage = await requestCode(login, 'register', email);
    const first = smtp.codeFor(email);

    const tooSoon = await login.browser.submit(codePage, /\/resend$/, {});
    expect(tooSoon.status).toBe(429);
    expect(alertText(tooSoon)).toBe('Wait 60 seconds before asking for a new code.');

    clock.advance(301_000);
    const expired = await enterCode(login, codePage, first);
    expect(expired.status).toBe(400);
    expect(alertText(expired)).toBe('The code has expired. Send a new code to continue.');

    const resent = await login.browser.submit(codePage, /\/resend$/, {});
    expect(resent.status).toBe(200);
    expect(alertText(resent)).toBe('We have sent you a new code. Codes sent earlier no longer work.');
    const second = smtp.codeFor(email);
    expect(smtp.to(email)).toHaveLength(2);
    if (second !== first) expect((await enterCode(login, resent, first)).status).toBe(400);

    const passwordPage = await enterCode(login, resent, second);
    expect(passwordPage.html).toContain('autocomplete="new-password"');
    const callback = await choosePassword(login, passwordPage, { password: 'Fjord7Lights', name: 'Late Comer' });
    expect(callback.status).toBe(0);
  });

  test('an expired flow shows the first page again with the address and a message, and starting again works', async () => {
    const email = 'slow@example.no';
    const login = await beginLogin(server);
    const codePage = await requestCode(login, 'reset', email);
    clock.advance(1801_000);

    const again = await login.browser.go(codePage.url);
    expect(again.status).toBe(410);
    expect(again.html).toContain('Forgot your password?');
    expect(alertText(again)).toBe('The time for this step ran out, so we have started again. Send a new verification code to continue.');
    expect(again.html).toContain(`value="${email}"`);
    const late = await enterCode(login, codePage, '123456');
    expect(late.status).toBe(410);

    const restarted = await login.browser.submit(again, /\/reset$/, { email });
    expect(restarted.status).toBe(200);
    expect(restarted.html).toContain('Verification code');
  });

  test('a verified registration left too long before the password also starts again, never a dead end', async () => {
    const email = 'pause@example.no';
    const login = await beginLogin(server);
    const codePage = await requestCode(login, 'register', email);
    const passwordPage = await enterCode(login, codePage, smtp.codeFor(email));
    clock.advance(1801_000);
    const refused = await choosePassword(login, passwordPage, { password: 'Fjord7Lights', name: 'Pause' });
    expect(refused.status).toBe(410);
    expect(refused.html).toContain('Create a user account');
    expect(refused.html).toContain(`value="${email}"`);
    expect(await db.knex('local_credentials').where({ email })).toHaveLength(0);
  });

  test('an unknown flow id gets the first page with a message, not an error', async () => {
    const login = await beginLogin(server);
    const uid = /\/interaction\/([^/"]+)\/register/.exec(login.page.html)![1]!;
    const page = await login.browser.go(`/interaction/${uid}/register/not-a-flow-id-0123456789`);
    expect(page.status).toBe(404);
    expect(alertText(page)).toBe('We could not find this step any more. Start again by sending a new verification code.');
    expect(page.html).toContain('Send verification code');
  });
});
