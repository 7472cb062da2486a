/**
 * Registration and password reset end to end, on each dialect: an openid-client relying party starts
 * the login, the user follows "Register now" / "Forgot your password?", the code arrives at a real SMTP
 * server on loopback, and the login ends back at the RP with tokens for the right account. A reset ends
 * every earlier session and token of the account and mails "your password was changed".
 */
import * as oidc from 'openid-client';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { beginLogin, choosePassword, enterCode, linkHref, requestCode } from '../support/local-accounts.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import { createAuditLog } from '../../src/store/audit.js';

describe.each(dialects)('registration and password reset on %s', (dialect) => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    smtp = await startSmtp();
    server = await startService({ db, env: { SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
    await db.close();
  });

  test('register from the login page: code by mail, password and name, back at the RP logged in', async () => {
    const login = await beginLogin(server);
    expect(login.page.html).toContain('Register now');
    const codePage = await requestCode(login, 'register', 'Nora.Berg@Example.no');
    expect(codePage.status).toBe(200);
    expect(codePage.url).toMatch(/\/interaction\/[^/]+\/register\/[A-Za-z0-9_-]{24}$/);
    expect(codePage.html).toContain('We have sent an e-mail to nora.berg@example.no.');
    expect(codePage.html).toContain('spam folder');
    expect(codePage.html).toContain('Send a new code');

    const [mail] = smtp.to('nora.berg@example.no');
    expect(mail!.subject).toBe('Your verification code for Nordlys ID');
    const code = smtp.codeFor('nora.berg@example.no');
    expect(mail!.text).toContain('valid for 5 minutes');
    expect(mail!.html).toContain(`>${code}</p>`);
    expect(mail!.subject).not.toContain(code);
    expect(mail!.headers['auto-submitted']).toBe('auto-generated');
    // No tracking: no links, no images, nothing fetched when the mail is opened.
    expect(mail!.html).not.toMatch(/<img|<a\s|https?:\/\/|src=/i);

    const passwordPage = await enterCode(login, codePage, code);
    expect(passwordPage.status).toBe(200);
    expect(passwordPage.html).toContain('Your e-mail address nora.berg@example.no is confirmed.');
    expect(passwordPage.html).toContain('At least one capital letter (A–Z)');
    const callback = await choosePassword(login, passwordPage, { password: 'Fjord7Lights', name: 'Nora Berg' });
    const tokens = await login.redeem(callback);
    const sub = tokens.claims()!.sub;
    expect(tokens.claims()).toMatchObject({ amr: ['pwd'] });
    expect(await oidc.fetchUserInfo(login.config, tokens.access_token, sub)).toMatchObject({
      sub,
      email: 'nora.berg@example.no',
      email_verified: true,
      name: 'Nora Berg',
    });
    const events = await createAuditLog(db, systemClock).recent(20);
    expect(events.find((e) => e.event === 'registration.completed')).toMatchObject({ outcome: 'success', accountId: sub });
    expect(JSON.stringify(events)).not.toContain(code);

    // The new account logs in like any other.
    const again = await beginLogin(server);
    const back = await again.browser.submit(again.page, /\/login$/, { email: 'nora.berg@example.no', password: 'Fjord7Lights' });
    expect((await again.redeem(back)).claims()!.sub).toBe(sub);
  });

  test('reset: code by mail, new password, every other session ends, a "password changed" mail', async () => {
    const email = `kari-${dialect}@example.no`;
    const account = await createLocalAccount(db, systemClock, { email, name: 'Kari Nordmann', password: 'Old-Password-1' });

    // Kari is logged in elsewhere, with a refresh token.
    const elsewhere = await beginLogin(server, { params: { scope: 'openid offline_access', prompt: 'consent' } });
    const before = await elsewhere.redeem(await elsewhere.browser.submit(elsewhere.page, /\/login$/, { email, password: 'Old-Password-1' }));
    expect(before.refresh_token).toBeDefined();

    const login = await beginLogin(server);
    const codePage = await requestCode(login, 'reset', email);
    expect(codePage.html).toContain(`If there is a user account with the address ${email}, we have sent a six-digit code to it.`);
    expect(smtp.to(email).at(-1)!.subject).toBe('Your code for choosing a new password');
    const passwordPage = await enterCode(login, codePage, smtp.codeFor(email));
    expect(passwordPage.html).toContain('Choose a new password');
    expect(passwordPage.html).not.toContain('name="name"');
    const callback = await choosePassword(login, passwordPage, { password: 'Brand4Newpass' });
    expect((await login.redeem(callback)).claims()!.sub).toBe(account.id);

    const changed = smtp.to(email).at(-1)!;
    expect(changed.subject).toBe('Your password has been changed');
    expect(changed.text).toContain('You have been logged out everywhere you were logged in.');

    // The other browser's session is gone (it must log in again) and so is its refresh token.
    const elsewhereAgain = await beginLogin(server, { browser: elsewhere.browser });
    expect(elsewhereAgain.page.html).toContain('name="password"');
    await expect(oidc.refreshTokenGrant(elsewhere.config, before.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    // The old password no longer works, the new one does.
    const old = await beginLogin(server);
    const refused = await old.browser.submit(old.page, /\/login$/, { email, password: 'Old-Password-1' });
    expect(refused.status).toBe(401);
    const fresh = await beginLogin(server);
    const ok = await fresh.browser.submit(fresh.page, /\/login$/, { email, password: 'Brand4Newpass' });
    expect((await fresh.redeem(ok)).claims()!.sub).toBe(account.id);
  });

  test('a reset for an address without an account mails that there is none and offers registration', async () => {
    const login = await beginLogin(server);
    const codePage = await requestCode(login, 'reset', 'nobody@example.no');
    expect(codePage.status).toBe(200);
    expect(codePage.html).toContain('If there is a user account with the address nobody@example.no');
    const [mail] = smtp.to('nobody@example.no');
    expect(mail!.subject).toBe('There is no user account with this e-mail address');
    expect(mail!.text).toContain('choose “Register now” on the login page');
    expect(mail!.text).toContain('730 days');
    expect(mail!.text).not.toMatch(/\b\d{6}\b/);
    // The code page offers registration instead, and registering that address works.
    const register = await login.browser.go(linkHref(codePage, 'Register now'));
    expect(register.html).toContain('Create a user account');
  });

  test('registering an address that has an account: the same page, a mail saying so, no second account', async () => {
    const email = `taken-${dialect}@example.no`;
    await createLocalAccount(db, systemClock, { email, name: 'Taken', password: 'Taken-Pass-1' });
    const login = await beginLogin(server);
    const codePage = await requestCode(login, 'register', email);
    expect(codePage.html).toContain(`We have sent an e-mail to ${email}.`);
    const [mail] = smtp.to(email);
    expect(mail!.subject).toBe('You already have a user account at Nordlys ID');
    expect(mail!.text).toContain('Forgot your password?');
    expect(mail!.text).not.toMatch(/\b\d{6}\b/);
    // No code can get through: the flow holds a code nobody was sent.
    const wrong = await enterCode(login, codePage, '000000');
    expect(wrong.status).toBe(400);
  });
});
