/**
 * Every page in the person's language: each scope and claim a consent page can list has a label in every
 * language (adding a scope without labels fails here), the consent page shows those labels rather than raw
 * names, the logged-out page keeps the language the logout started in, and the OIDC error page explains
 * the error code in the person's language with the library's English description kept as a detail.
 */
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, writeClientsFile, testClients, RP, CONFIDENTIAL_SECRET, type RunningService } from '../support/service.js';
import { Browser } from '../support/browser.js';
import { TEST_USER, discover } from '../support/rp.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import { SUPPORTED_SCOPES, SWEDISH_PNR_SCOPE, shareableClaims, consentLabelId } from '../../src/policies/claims.js';
import { supportedLocales } from '../../src/i18n/locales.js';
import { messagesFor, isMessageId } from '../../src/i18n/translate.js';
import { oidcErrorMessageId } from '../../src/provider/pages.js';
import * as oidc from 'openid-client';
import crypto from 'node:crypto';

describe('labels for every scope and claim', () => {
  it.each([...supportedLocales])('%s has a label for every supported scope and every shareable claim', (locale) => {
    const messages = messagesFor(locale) as Record<string, string>;
    const missing = [
      ...SUPPORTED_SCOPES.map((s) => consentLabelId('scope', s)),
      ...shareableClaims().map((c) => consentLabelId('claim', c)),
    ].filter((id) => !isMessageId(id) || !messages[id]?.trim());
    expect(missing).toEqual([]);
  });

  it('explains the common OIDC error codes, and falls back for unknown ones', () => {
    for (const code of ['invalid_request', 'invalid_client', 'access_denied', 'login_required', 'unmet_authentication_requirements', 'temporarily_unavailable']) {
      expect(oidcErrorMessageId(code)).toBe(`oidc_error.${code}`);
    }
    expect(oidcErrorMessageId('made_up_error')).toBe('error.oidc');
  });
});

describe.each(dialects)('provider pages in the person\'s language on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    const clients = [
      ...testClients,
      {
        client_id: 'eid-rp',
        client_secret: CONFIDENTIAL_SECRET,
        client_name: 'eID RP',
        redirect_uris: [RP],
        scope: `openid profile pid ${SWEDISH_PNR_SCOPE}`,
      },
    ];
    server = await startService({ db, clientsFile: writeClientsFile(clients) });
    await createLocalAccount(db, systemClock, { email: TEST_USER.email, name: TEST_USER.name, password: TEST_USER.password });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  const challenge = crypto.createHash('sha256').update('v'.repeat(50)).digest('base64url');
  const authUrl = (clientId: string, extra: Record<string, string>) =>
    `${server.url}/auth?${new URLSearchParams({ client_id: clientId, response_type: 'code', redirect_uri: RP, code_challenge: challenge, code_challenge_method: 'S256', state: 's', ...extra })}`;

  it('labels the pid and personnummer scopes on the consent page, in Norwegian and Ukrainian', async () => {
    for (const [locale, pidLabel, pnrLabel] of [
      ['nb', 'Se fødselsnummeret eller D-nummeret ditt', 'Se det svenske personnummeret ditt'],
      ['uk', 'Бачити ваш норвезький ідентифікаційний номер', 'Бачити ваш шведський персональний ідентифікаційний номер'],
    ] as const) {
      const browser = new Browser(server.url, locale);
      const login = await browser.go(authUrl('eid-rp', { scope: `openid pid ${SWEDISH_PNR_SCOPE}` }));
      const consent = await browser.submit(login, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password });
      expect(consent.html).toContain('/consent"');
      expect(consent.html).toContain(pidLabel);
      expect(consent.html).toContain(pnrLabel);
      expect(consent.html).not.toMatch(/<li>\s*pid\s*<\/li>/);
      expect(consent.html).not.toContain(`<li>${SWEDISH_PNR_SCOPE}</li>`);
    }
  });

  it('keeps ui_locales from the logout request on the logged-out page, whatever Accept-Language says', async () => {
    const config = await discover(server.url, 'conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const browser = new Browser(server.url, 'en');
    const login = await browser.go(authUrl('pub', { scope: 'openid' }));
    await browser.submit(login, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password });
    const end = oidc.buildEndSessionUrl(config, { ui_locales: 'sv' });
    const confirm = await browser.go(end.toString());
    expect(confirm.html).toMatch(/<html lang="sv">/);
    const done = await browser.submit(confirm, /session\/end\/confirm/, { logout: 'yes' });
    expect(done.url).toContain('/session/end/success');
    expect(done.html).toMatch(/<html lang="sv">/);
    expect(done.html).toContain('Du är nu utloggad');
  });

  it('explains an OIDC error in the person\'s language and keeps the original description as a detail', async () => {
    const cases = [
      { lang: 'nb', text: 'Vi kjenner ikke tjenesten som sendte deg hit' },
      { lang: 'sv', text: 'Vi känner inte till tjänsten som skickade dig hit' },
      { lang: 'uk', text: 'Ми не знаємо сервісу, який надіслав вас сюди' },
      { lang: 'en', text: 'The service that sent you here is not known to us' },
    ];
    for (const { lang, text } of cases) {
      const res = await fetch(`${server.url}/auth?client_id=unknown-client&response_type=code&scope=openid`, { headers: { 'accept-language': lang, accept: 'text/html' } });
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toMatch(new RegExp(`<html lang="${lang}">`));
      expect(html).toContain(text);
      expect(html).toContain('<code>invalid_client: client is invalid</code>');
    }
  });
});

describe('the catalogue knows every locale', () => {
  it('lists nb, en, sv and uk', () => {
    expect([...supportedLocales].sort()).toEqual(['en', 'nb', 'sv', 'uk']);
  });
});
