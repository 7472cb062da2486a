/**
 * Mail, on each dialect: a failed send gives a clear "could not send, try again" page, an audit entry
 * and nothing half-created; every mail is localised in the flow's language, plain text plus HTML, with
 * no tracking; in development mail goes to the outbox (files, a log line without the code, the
 * /dev/outbox page), which production does not have.
 */
import fs from 'node:fs';
import path from 'node:path';
import { supportedLocales } from '../../src/i18n/locales.js';
import { translate } from '../../src/i18n/translate.js';
import { composeMail, type MailKind } from '../../src/mail/messages.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { Browser } from '../support/browser.js';
import { alertText, beginLogin, enterCode, requestCode } from '../support/local-accounts.js';

const KINDS: MailKind[] = ['registration_code', 'registration_exists', 'recovery_code', 'recovery_unknown', 'password_changed'];

describe('composed mails', () => {
  test.each(supportedLocales)('%s: every kind is in the language, text plus HTML, nothing that tracks', (locale) => {
    for (const kind of KINDS) {
      const mail = composeMail(kind, locale, { code: '123456', minutes: 5, days: 730, at: Date.UTC(2026, 0, 2, 12, 0) });
      expect(mail.subject).toBe(translate(locale, `mail.${kind}.subject`));
      expect(mail.text).toContain(translate(locale, 'mail.footer'));
      expect(mail.html).toContain(`<html lang="${locale}">`);
      expect(mail.html).not.toMatch(/<img|<a\s|https?:\/\/|src=|url\(/i);
      expect(mail.subject).not.toContain('123456');
      const withCode = kind === 'registration_code' || kind === 'recovery_code';
      expect([kind, mail.text.includes('123456'), mail.html.includes('123456')]).toEqual([kind, withCode, withCode]);
    }
  });

  test('values are escaped in the HTML twin', () => {
    const mail = composeMail('registration_code', 'en', { code: '<b>1</b>', minutes: 5 });
    expect(mail.html).toContain('&lt;b&gt;1&lt;/b&gt;');
  });
});

describe.each(dialects)('mail delivery on %s', (dialect) => {
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

  test('a failed send: "could not send, try again", audited, nothing created; trying again works', async () => {
    smtp.failing(true);
    try {
      const login = await beginLogin(server);
      const page = await requestCode(login, 'register', 'unlucky@example.no');
      expect(page.status).toBe(503);
      expect(alertText(page)).toBe('We could not send the e-mail. Nothing has been created or changed. Please try again in a moment.');
      expect(page.html).toContain('value="unlucky@example.no"');
      expect(await db.knex('self_service_flows').where({ email: 'unlucky@example.no' })).toHaveLength(0);
      expect(await db.knex('audit_events').where({ event: 'registration.mail', outcome: 'failure' })).toHaveLength(1);

      smtp.failing(false);
      const retried = await login.browser.submit(page, /\/register$/, { email: 'unlucky@example.no' });
      expect(retried.status).toBe(200);
      expect(smtp.to('unlucky@example.no')).toHaveLength(1);
    } finally {
      smtp.failing(false);
    }
  });

  test('a failed resend keeps the earlier code working', async () => {
    const email = 'resend@example.no';
    const server2 = await startService({ db, env: { SMTP_URL: smtp.url, CODE_RESEND_COOLDOWN_SECONDS: '0' } });
    try {
      const login = await beginLogin(server2);
      const codePage = await requestCode(login, 'register', email);
      const code = smtp.codeFor(email);
      smtp.failing(true);
      const failed = await login.browser.submit(codePage, /\/resend$/, {});
      smtp.failing(false);
      expect(failed.status).toBe(503);
      expect((await enterCode(login, codePage, code)).html).toContain('autocomplete="new-password"');
    } finally {
      smtp.failing(false);
      await server2.close();
    }
  });

  test.each([
    ['nb', 'Bekreftelseskoden din for Nordlys ID', 'Sjekk e-posten din'],
    ['sv', 'Din verifieringskod för Nordlys ID', 'Kontrollera din e-post'],
    ['uk', 'Ваш код підтвердження для Nordlys ID', 'Перевірте свою пошту'],
  ])('a flow in %s: the pages and the mail speak it', async (locale, subject, heading) => {
    const email = `lang-${locale}@example.no`;
    const login = await beginLogin(server, { params: { ui_locales: locale } });
    const codePage = await login.browser.submit(await login.browser.go(/href="([^"]+\/register)"/.exec(login.page.html)![1]!), /\/register$/, { email });
    expect(codePage.html).toContain(`<h1>${heading}</h1>`);
    const mail = smtp.to(email).at(-1)!;
    expect(mail.subject).toBe(subject);
    expect(mail.headers['content-language']).toBe(locale);
    expect(mail.text).toContain(smtp.codeFor(email));
  });
});

describe.each(dialects)('the development outbox on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  test('no SMTP_URL: mail goes to DATA_DIR/outbox, the log says "mail sent" without address, subject or code, /dev/outbox shows it', async () => {
    const login = await beginLogin(server);
    await requestCode(login, 'register', 'newcomer@example.no');
    const outbox = path.join(server.config.dataDir, 'outbox');
    const files = fs.readdirSync(outbox);
    expect(files.filter((f) => f.endsWith('.eml'))).toHaveLength(1);
    const eml = fs.readFileSync(path.join(outbox, files.find((f) => f.endsWith('.eml'))!), 'utf8');
    const code = /\b(\d{6})\b/.exec(JSON.parse(fs.readFileSync(path.join(outbox, files.find((f) => f.endsWith('.json'))!), 'utf8')).text)![1]!;
    expect(eml).toContain('multipart/alternative');

    const line = JSON.parse(server.logs.find((l) => l.includes('"mail sent"'))!) as Record<string, unknown>;
    expect(line).toMatchObject({ kind: 'registration_code', locale: 'en', outboxId: files.find((f) => f.endsWith('.eml'))!.replace(/\.eml$/, '') });
    expect(line.messageId).toEqual(expect.stringMatching(/^<.+>$/));
    const all = server.logs.join('\n');
    for (const secret of [code, 'newcomer@example.no', 'Your verification code']) expect(all).not.toContain(secret);

    const page = await new Browser(server.url).go('/dev/outbox', { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'id.example.test' } });
    expect(page.status).toBe(200);
    expect(page.html).toContain('Development outbox');
    expect(page.html).toContain('newcomer@example.no');
    expect(page.html).toContain(code);
  });
});

describe('production has no outbox page', () => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    smtp = await startSmtp();
    server = await startService({
      db,
      env: {
        NODE_ENV: 'production',
        ISSUER: 'https://id.example.test',
        // The test (on loopback) is the TLS-terminating proxy; the store is the one handed in below.
        TRUSTED_PROXIES: 'loopback',
        DATABASE_URL: 'sqlite:///unused/handed-in.sqlite',
        COOKIE_KEYS: 'k'.repeat(40),
        DPOP_NONCE_SECRET: 'ab'.repeat(32),
        PAIRWISE_SALT: 's'.repeat(40),
        CODE_HMAC_SECRET: 'c'.repeat(40),
        KEY_ENCRYPTION_KEY: 'e'.repeat(64),
        SMTP_URL: smtp.url,
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
    await db.close();
  });

  test('/dev/outbox is not found', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const page = await new Browser(server.url).go('/dev/outbox', { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'id.example.test' } });
    expect(page.status).toBe(404);
  });
});
