/**
 * What the log says about mail, on each dialect: registration and reset of known and unknown addresses
 * (and the password-changed notice) each log "mail sent" with the mail's kind, locale and message id,
 * and no log line anywhere names an address or a subject; a failed send logs the transport's code and
 * SMTP status, not its text (an SMTP reply often repeats the recipient).
 */
import { ManualClock } from '../support/manual-clock.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { composeMail, type MailKind } from '../../src/mail/messages.js';
import { supportedLocales } from '../../src/i18n/locales.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { beginLogin, choosePassword, enterCode, registerThrough, requestCode } from '../support/local-accounts.js';

const KINDS: MailKind[] = ['registration_code', 'registration_exists', 'recovery_code', 'recovery_unknown', 'password_changed'];

describe.each(dialects)('mail in the log on %s', (dialect) => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let server: RunningService;
  const clock = new ManualClock(Date.now());
  const known = { email: 'known.person@example.no', name: 'Known', password: 'Known-Pass-1' };
  const addresses = [known.email, 'new.person@example.no', 'nobody.here@example.no', 'norsk.person@example.no'];
  const parsed = () => server.logs.map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    smtp = await startSmtp();
    server = await startService({ db, clock, env: { SMTP_URL: smtp.url } });
    await createLocalAccount(db, clock, known);
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
    await db.close();
  });

  test('registration and reset of known and unknown addresses: kind, locale and message id, never an address or a subject', async () => {
    await requestCode(await beginLogin(server), 'register', known.email);
    expect((await registerThrough(await beginLogin(server), smtp, { email: 'new.person@example.no', password: 'NewPass123', name: 'New' })).status).toBe(0);
    await requestCode(await beginLogin(server), 'reset', 'nobody.here@example.no');
    const reset = await beginLogin(server);
    const passwordPage = await enterCode(reset, await requestCode(reset, 'reset', known.email), smtp.codeFor(known.email));
    expect((await choosePassword(reset, passwordPage, { password: 'FreshPass12' })).status).toBe(0);
    const norsk = await beginLogin(server, { params: { ui_locales: 'nb' } });
    await norsk.browser.submit(await norsk.browser.go(`${new URL(norsk.page.url).pathname}/register`), /\/register$/, { email: 'norsk.person@example.no' });

    const sent = parsed().filter((l) => l.msg === 'mail sent');
    expect(sent.map((l) => [l.kind, l.locale])).toEqual([
      ['registration_exists', 'en'],
      ['registration_code', 'en'],
      ['recovery_unknown', 'en'],
      ['recovery_code', 'en'],
      ['password_changed', 'en'],
      ['registration_code', 'nb'],
    ]);
    // The message id is the one the mail server received, so an operator can find the mail.
    expect(sent.map((l) => l.messageId)).toEqual(smtp.mails.map((m) => m.headers['message-id']));
    for (const l of sent) expect(Object.keys(l).sort()).toEqual(['kind', 'level', 'locale', 'messageId', 'msg', 'service', 'time']);

    const all = server.logs.join('\n');
    for (const address of addresses) expect([address, all.includes(address)]).toEqual([address, false]);
    for (const locale of supportedLocales) {
      for (const kind of KINDS) {
        const { subject } = composeMail(kind, locale, { at: 0 });
        expect([subject, all.includes(subject)]).toEqual([subject, false]);
      }
    }
    expect(all).not.toContain('example.no');
  });

  test('a failed send logs the code and status of the failure, not its text', async () => {
    smtp.failing(true);
    try {
      const page = await requestCode(await beginLogin(server), 'register', 'unlucky.person@example.no');
      expect(page.status).toBe(503);
    } finally {
      smtp.failing(false);
    }
    const failed = parsed().filter((l) => l.msg === 'mail could not be sent');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ kind: 'registration_code', locale: 'en', reason: { responseCode: 550 } });
    expect(failed[0]!.err).toBeUndefined();
    const all = server.logs.join('\n');
    expect(all).not.toContain('unlucky.person');
    expect(all).not.toContain('mailbox unavailable');
  });
});
