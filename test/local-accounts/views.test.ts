/**
 * The registration and reset pages render in every language with visible labels on every field, a
 * CSRF token in every form, messages attached to the form, no inline script or style, and everything
 * they are given escaped; the login page carries the "Register now" and "Forgot your password?" links.
 */
import { fileURLToPath } from 'node:url';
import { supportedLocales } from '../../src/i18n/locales.js';
import { translate } from '../../src/i18n/translate.js';
import { createRenderer } from '../../src/views/renderer.js';

const renderer = createRenderer(fileURLToPath(new URL('../../views', import.meta.url)));
const common = { csrf: 'csrf-123', clientName: 'My page', uid: 'abc', loginUrl: '/interaction/abc' };
const rules = [
  { id: 'password.rule.min_length', params: { min: 8 }, broken: true },
  { id: 'password.rule.digit', params: {}, broken: false },
];
const pages: Record<string, Record<string, unknown>> = {
  'local/start': { ...common, kind: 'registration', actionUrl: '/interaction/abc/register', email: 'kari@example.no', errorId: 'local.error.email_invalid', fieldError: true },
  'local/code': { ...common, kind: 'recovery', email: 'kari@example.no', minutes: 5, cooldownSeconds: 60, codeUrl: '/c', resendUrl: '/r', startUrl: '/s', registerUrl: '/interaction/abc/register', errorId: 'local.code.error.wrong', errorParams: { left: 3 } },
  'local/password': { ...common, kind: 'registration', email: 'kari@example.no', actionUrl: '/p', resetUrl: '/reset', rules, brokenRules: rules.filter((r) => r.broken), adviceId: 'local.password.udi_advice', name: 'Kari', nameError: true },
  'dev/outbox': { messages: [{ to: 'kari@example.no', subject: 'Hello', text: 'Code 123456', sentAt: '2026-01-01T00:00:00.000Z' }] },
};
const combos = Object.keys(pages).flatMap((view) => supportedLocales.map((locale) => [view, locale] as const));

describe('registration and reset views', () => {
  test.each(combos)('%s renders in %s: labelled fields, CSRF in every form, no inline script or style', (view, locale) => {
    const html = renderer.render(view, locale, pages[view]!);
    expect(html).toContain(`<html lang="${locale}">`);
    expect(html).not.toMatch(/<script|\sstyle=/i);
    expect(html).not.toMatch(/\{[a-z_]+\}/);
    const forms = [...html.matchAll(/<form[\s\S]*?<\/form>/g)].map((m) => m[0]);
    for (const form of forms) expect(form).toContain('<input type="hidden" name="_csrf" value="csrf-123">');
    for (const input of [...html.matchAll(/<input\b[^>]*>/g)].map((m) => m[0]).filter((i) => !/type="hidden"/.test(i))) {
      const id = /\bid="([^"]+)"/.exec(input)![1]!;
      expect(html).toContain(`<label for="${id}">`);
    }
  });

  test('messages are attached: the alert describes the form or field, broken rules are marked', () => {
    const start = renderer.render('local/start', 'en', pages['local/start']!);
    expect(start).toMatch(/<div class="alert alert-error" id="form-error" role="alert">\s*<p>Enter a valid e-mail address/);
    expect(start).toMatch(/id="local-email"[^>]*aria-invalid="true" aria-describedby="form-error"/);
    const password = renderer.render('local/password', 'nb', pages['local/password']!);
    expect(password).toContain('<li class="rule-broken">Minst 8 tegn <span class="rule-status">(ikke oppfylt)</span></li>');
    expect(password).toContain('<li>Minst ett tall (0–9)</li>');
    expect(password).toMatch(/id="local-password"[^>]*aria-describedby="password-rules password-error"/);
    expect(password).toContain(translate('nb', 'local.name.error.missing'));
    const code = renderer.render('local/code', 'sv', pages['local/code']!);
    expect(code).toContain('Koden är fel. Du har 3 försök kvar.');
    expect(code).toContain('autocomplete="one-time-code"');
    expect(code).toContain(translate('sv', 'local.code.spam'));
  });

  test('everything given is escaped', () => {
    const evil = '<script>alert(1)</script>';
    for (const view of Object.keys(pages)) {
      const html = renderer.render(view, 'en', { ...pages[view], email: evil, name: evil, clientName: evil, messages: [{ to: evil, subject: evil, text: evil, sentAt: evil }] });
      expect(html).not.toContain(evil);
    }
  });

  test.each(supportedLocales)('the login page links to registration and reset in %s', (locale) => {
    const html = renderer.render('login', locale, { ...common, actionUrl: '/interaction/abc/login', abortUrl: '/interaction/abc/abort' });
    expect(html).toContain(`<a href="/interaction/abc/register">${translate(locale, 'local.link.register')}</a>`);
    expect(html).toContain(`<a href="/interaction/abc/reset">${translate(locale, 'local.link.forgot')}</a>`);
    expect(html).toContain(`<label for="login-email">${translate(locale, 'local.login.identifier')}</label>`);
  });
});
