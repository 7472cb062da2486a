/**
 * Password rules: every rule of both presets, alone (a password that breaks exactly that rule), and on
 * the page in all four languages — listed before typing, named after a refused submission — through a
 * real registration on each dialect.
 */
import path from 'node:path';
import { createPasswordPolicy, normalisePassword, type PasswordPreset, type PasswordRuleId } from '../../src/policies/password-rules.js';
import { loadBlocklist } from '../../src/passwords/blocklist.js';
import { appRoot } from '../../src/app-root.js';
import { supportedLocales } from '../../src/i18n/locales.js';
import { translate, type MessageId } from '../../src/i18n/translate.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { alertText, beginLogin, choosePassword, enterCode } from '../support/local-accounts.js';

const isCommon = loadBlocklist(path.join(appRoot(), 'config/common-passwords.txt'));
const EMAIL = 'rule.tester@example.no';

/** For each rule, a password that breaks that rule and no other (with EMAIL as the account's address). */
const BREAKS: Record<PasswordPreset, Array<[PasswordRuleId, string]>> = {
  udi: [
    ['min_length', 'Abcde12'],
    ['uppercase', 'fjordlights7'],
    ['lowercase', 'FJORDLIGHTS7'],
    ['digit', 'FjordLights'],
    ['no_special', 'Fjord%Lights7'],
    ['no_norwegian_letters', 'FjordLøft7x'],
    ['latin_only', 'FjordLights7ж'],
    ['max_length', `Aa1${'b'.repeat(126)}`],
    ['not_common', 'Sommer2024'],
  ],
  nist: [
    ['min_length', 'short but fine'],
    ['max_length', 'x'.repeat(65)],
    ['printable', 'northern lights\u0007over the fjord'],
    ['not_common', 'correct horse battery staple'],
  ],
};
const GOOD: Record<PasswordPreset, string> = { udi: 'Fjord7Lights', nist: 'nordlys over Tromsø i januar ✨' };

describe('password rule presets (pure)', () => {
  test.each(['udi', 'nist'] as const)('%s: each rule alone, and a good password passes', (preset) => {
    const policy = createPasswordPolicy(preset, isCommon);
    expect(policy.rules.map((r) => r.id).sort()).toEqual(BREAKS[preset].map(([id]) => id).sort());
    for (const [rule, password] of BREAKS[preset]) {
      expect([rule, policy.evaluate(normalisePassword(password), { email: EMAIL })]).toEqual([rule, [rule]]);
    }
    expect(policy.evaluate(normalisePassword(GOOD[preset]), { email: EMAIL })).toEqual([]);
  });

  test('every broken rule is named, not only the first', () => {
    const udi = createPasswordPolicy('udi', isCommon);
    expect(udi.evaluate('å@', {}).sort()).toEqual(['digit', 'lowercase', 'min_length', 'no_norwegian_letters', 'no_special', 'uppercase'].sort());
  });

  test('the e-mail address and its local part count as common; the blocklist ignores case', () => {
    const nist = createPasswordPolicy('nist', isCommon);
    expect(nist.evaluate('Rule.Tester@Example.no', { email: EMAIL })).toEqual(['not_common']);
    expect(nist.evaluate('rule.tester.account', { email: 'rule.tester.account@example.no' })).toEqual(['not_common']);
    expect(nist.evaluate('PASSWORDPASSWORD', {})).toEqual(['not_common']);
    expect(createPasswordPolicy('udi', isCommon).evaluate('PASSWORD1', {})).toContain('not_common');
  });

  test('NFKC first: compatibility forms become what they look like; length counts code points', () => {
    const udi = createPasswordPolicy('udi', isCommon);
    // Full-width letters and digits are plain A–Z and 0–9 after NFKC, so udi accepts them.
    expect(normalisePassword('Ｆｊｏｒｄ７Ｌｉｇｈｔｓ')).toBe('Fjord7Lights');
    expect(udi.evaluate(normalisePassword('Ｆｊｏｒｄ７Ｌｉｇｈｔｓ'))).toEqual([]);
    expect(normalisePassword('ﬁord')).toBe('fiord');
    const nist = createPasswordPolicy('nist', isCommon);
    // 15 emoji are 30 UTF-16 units but 15 characters: long enough, and within the cap.
    expect(nist.evaluate('🌌'.repeat(15))).toEqual([]);
    expect(nist.evaluate('🌌'.repeat(14))).toEqual(['min_length']);
    expect(nist.evaluate('🌌'.repeat(65))).toEqual(['max_length']);
  });
});

const ruleText = (locale: (typeof supportedLocales)[number], preset: PasswordPreset, rule: PasswordRuleId) => {
  const params = createPasswordPolicy(preset, isCommon).rules.find((r) => r.id === rule)!.params;
  return translate(locale, `password.rule.${rule}` as MessageId, params);
};
const htmlText = (html: string) => html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&');

describe.each(dialects)('password rules on the registration page on %s', (dialect) => {
  let db: Record<PasswordPreset, TestDatabase>;
  let smtp: TestSmtp;
  let servers: Record<PasswordPreset, RunningService>;

  beforeAll(async () => {
    smtp = await startSmtp();
    db = { udi: await createTestDatabase(dialect), nist: await createTestDatabase(dialect) };
    servers = {
      udi: await startService({ db: db.udi, env: { SMTP_URL: smtp.url } }),
      nist: await startService({ db: db.nist, env: { SMTP_URL: smtp.url, PASSWORD_POLICY: 'nist' } }),
    };
  });
  afterAll(async () => {
    for (const preset of ['udi', 'nist'] as const) {
      await servers[preset].close();
      await db[preset].close();
    }
    await smtp.close();
  });

  const cases = (['udi', 'nist'] as const).flatMap((preset) => supportedLocales.map((locale) => [preset, locale] as const));

  test.each(cases)('%s in %s: all rules shown first, each broken rule named, then accepted', async (preset, locale) => {
    const email = `${preset}-${locale}-${EMAIL}`;
    const login = await beginLogin(servers[preset], { params: { ui_locales: locale } });
    const start = await login.browser.go(login.page.html.match(/href="([^"]+\/register)"/)![1]!);
    const codePage = await login.browser.submit(start, /\/register$/, { email });
    const passwordPage = await enterCode(login, codePage, smtp.codeFor(email));
    expect(passwordPage.status).toBe(200);
    const shown = htmlText(passwordPage.html);
    expect(shown).toContain(translate(locale, 'local.password.rules_heading'));
    expect(shown).toContain(translate(locale, `local.password.${preset}_advice`));
    for (const [rule] of BREAKS[preset]) expect(shown).toContain(ruleText(locale, preset, rule));
    expect(shown).not.toContain('role="alert"');

    for (const [rule, password] of BREAKS[preset]) {
      const refused = await choosePassword(login, passwordPage, { password, name: 'Rule Tester' });
      expect([rule, refused.status]).toEqual([rule, 400]);
      const alert = alertText(refused);
      expect(alert).toBe(`${translate(locale, 'local.password.error.broken')} ${ruleText(locale, preset, rule)}`);
      expect(htmlText(refused.html)).toContain(`${ruleText(locale, preset, rule)} <span class="rule-status">(${translate(locale, 'local.password.not_met')})</span>`);
    }
    const missingName = await choosePassword(login, passwordPage, { password: GOOD[preset], name: '  ' });
    expect(missingName.status).toBe(400);
    expect(missingName.html).toContain(translate(locale, 'local.name.error.missing'));

    const callback = await choosePassword(login, passwordPage, { password: GOOD[preset], name: 'Rule Tester' });
    expect((await login.redeem(callback)).claims()!.sub).toEqual(expect.any(String));
    // The NFKC form was stored: the same password logs in.
    const again = await beginLogin(servers[preset]);
    const back = await again.browser.submit(again.page, /\/login$/, { email, password: GOOD[preset] });
    expect(back.status).toBe(0);
  });
});
