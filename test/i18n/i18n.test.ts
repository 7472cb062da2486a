import { consentLabelId } from '../../src/policies/claims.js';
import { fileURLToPath } from 'node:url';
import { defaultLocale, negotiateLocale, supportedLocales, type Locale } from '../../src/i18n/locales.js';
import { en } from '../../src/i18n/messages/en.js';
import { messagesFor, translate, type MessageId } from '../../src/i18n/translate.js';
import { createRenderer } from '../../src/views/renderer.js';

const viewsDir = fileURLToPath(new URL('../../views', import.meta.url));
const renderer = createRenderer(viewsDir);
const placeholders = (text: string): string[] => [...text.matchAll(/\{([a-z_][a-z0-9_]*)\}/gi)].map((m) => m[1] ?? '').sort();
const enKeys = Object.keys(en).sort();
/** Names that stay the same in every language. */
const PROPER_NOUNS = new Set(['app.name', 'method.idporten', 'bankid.status_heading']);

describe('message catalogues', () => {
  test.each(supportedLocales)('%s has exactly the keys of en, none empty', (locale) => {
    const messages = messagesFor(locale);
    expect(Object.keys(messages).sort()).toEqual(enKeys);
    for (const [id, text] of Object.entries(messages)) {
      expect([id, text.trim().length > 0]).toEqual([id, true]);
    }
  });

  test.each(supportedLocales)('%s uses exactly the placeholders of en', (locale) => {
    const messages = messagesFor(locale);
    for (const id of enKeys as MessageId[]) {
      expect([id, placeholders(messages[id])]).toEqual([id, placeholders(en[id])]);
    }
  });

  test.each(supportedLocales.filter((l) => l !== 'en'))('%s is translated, not an English copy', (locale) => {
    const messages = messagesFor(locale);
    const same = (enKeys as MessageId[]).filter((id) => messages[id] === en[id] && !PROPER_NOUNS.has(id));
    expect(same).toEqual([]);
  });

  test('ids are dotted and lower-case', () => {
    for (const id of enKeys) expect(id).toMatch(/^[a-z][a-z0-9_]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)+$/);
  });

  test('translate fills in placeholders and leaves unknown ones visible', () => {
    expect(translate('en', 'login.intro', { client: 'My page' })).toBe('Log in to continue to My page.');
    expect(translate('nb', 'login.intro', { client: 'Min side' })).toBe('Logg inn for å fortsette til Min side.');
    expect(translate('en', 'login.intro')).toBe('Log in to continue to {client}.');
    expect(translate('en', 'logged_out.message_client', { client: '{client}', other: 1 })).toBe(
      'You are now logged out of {client}.',
    );
    expect(() => translate('en', 'no.such.id' as MessageId)).toThrow(/Unknown message id/);
  });
});

describe('negotiateLocale', () => {
  test.each<[string | undefined, string | undefined, Locale]>([
    [undefined, undefined, defaultLocale],
    ['', '', 'en'],
    ['nb', undefined, 'nb'],
    ['no', undefined, 'nb'],
    ['nn', undefined, 'nb'],
    ['nb-NO', undefined, 'nb'],
    ['no-NO', undefined, 'nb'],
    ['sv-SE', undefined, 'sv'],
    ['sv-FI', undefined, 'sv'],
    ['uk-UA', undefined, 'uk'],
    ['en-GB', undefined, 'en'],
    ['de fr sv', undefined, 'sv'],
    ['  uk   en ', undefined, 'uk'],
    ['sv', 'nb-NO,nb;q=0.9', 'sv'],
    ['de', 'nb-NO,nb;q=0.9', 'nb'],
    [undefined, 'de-DE,de;q=0.9,sv;q=0.8,en;q=0.7', 'sv'],
    [undefined, 'en;q=0.5, uk;q=0.8', 'uk'],
    [undefined, 'en;q=0.5, uk;q=0', 'en'],
    [undefined, '*, sv;q=0.1', 'sv'],
    [undefined, 'fr, de', 'en'],
    [undefined, 'NB-no', 'nb'],
    [undefined, 'sv;q=0.5, nb;q=0.5', 'sv'],
    [undefined, 'garbage;;;q=x,,', 'en'],
  ])('ui_locales=%j accept-language=%j → %s', (uiLocales, acceptLanguage, expected) => {
    expect(negotiateLocale({ uiLocales, acceptLanguage })).toBe(expected);
  });
});

const baseVars: Record<string, Record<string, unknown>> = {
  login: {
    actionUrl: '/interaction/abc/login',
    abortUrl: '/interaction/abc/abort',
    csrf: 'csrf-token-123',
    clientName: 'My page',
    email: 'kari@example.no',
    errorId: 'login.error.invalid_credentials',
  },
  consent: {
    actionUrl: '/interaction/abc/consent',
    abortUrl: '/interaction/abc/abort',
    csrf: 'csrf-token-123',
    clientName: 'My page',
    scopes: ['openid', 'email', 'profile', 'offline_access', 'phone', 'address', 'urn:example:cases'].map((name) => ({ name, labelId: consentLabelId('scope', name) })),
    claims: ['email', 'given_name', 'custom_claim'].map((name) => ({ name, labelId: consentLabelId('claim', name) })),
  },
  error: { titleId: 'error.title', messageId: 'error.oidc', detail: 'invalid_request', backUrl: '/', backLabelId: 'error.back' },
  expired: { restartUrl: '/auth?client_id=x' },
  logout: {
    logoutForm:
      '<form id="op.logoutForm" method="post" action="/session/end/confirm"><input type="hidden" name="xsrf" value="x1"/></form>',
    clientName: 'My page',
  },
  'logged-out': { clientName: 'My page' },
};
const views = Object.keys(baseVars);
const combos = views.flatMap((view) => supportedLocales.map((locale) => [view, locale] as const));

describe('views', () => {
  test.each(combos)('%s renders in %s', (view, locale) => {
    const html = renderer.render(view, locale, baseVars[view] ?? {});
    expect(html).toContain(`<html lang="${locale}">`);
    expect(html).toContain('href="/static/style.css"');
    expect(html).toContain(translate(locale, 'app.name'));
    expect(html).not.toMatch(/<script|\sstyle=/i);
    expect(html).not.toMatch(/\{[a-z_]+\}/);
  });

  test.each(views)('%s renders with only the required variables', (view) => {
    const minimal: Record<string, unknown> = { ...baseVars[view] };
    for (const optional of ['clientName', 'email', 'errorId', 'detail', 'backUrl', 'backLabelId', 'restartUrl', 'claims']) {
      if (!(view === 'consent' && optional === 'clientName')) delete minimal[optional];
    }
    expect(() => renderer.render(view, 'nb', minimal)).not.toThrow();
  });

  test('escapes what it is given', () => {
    const evil = '<script>alert(1)</script>';
    for (const view of views) {
      const html = renderer.render(view, 'en', { ...baseVars[view], clientName: evil, email: evil, detail: evil });
      expect(html).not.toContain(evil);
    }
    const login = renderer.render('login', 'en', { ...baseVars.login, clientName: evil });
    expect(login).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  test('the login form: labelled inputs, csrf, error attached to the form', () => {
    const html = renderer.render('login', 'nb', baseVars.login ?? {});
    const inputs = [...html.matchAll(/<input\b[^>]*>/g)].map((m) => m[0]);
    const visible = inputs.filter((input) => !/type="hidden"/.test(input));
    expect(visible).toHaveLength(2);
    for (const input of visible) {
      const id = /\bid="([^"]+)"/.exec(input)?.[1];
      expect(id).toBeDefined();
      expect(html).toContain(`<label for="${id}">`);
    }
    expect(visible[0]).toMatch(/name="email"/);
    expect(visible[0]).toMatch(/type="text" inputmode="email"/);
    expect(visible[0]).toMatch(/autocomplete="username"/);
    expect(visible[0]).toMatch(/value="kari@example.no"/);
    expect(visible[1]).toMatch(/name="password"/);
    expect(visible[1]).toMatch(/type="password"/);
    expect(visible[1]).toMatch(/autocomplete="current-password"/);
    expect(html).toMatch(/<input type="hidden" name="_csrf" value="csrf-token-123">/);
    expect(html).toMatch(/role="alert"[^>]*>\s*<p>E-postadressen, brukernavnet eller passordet er feil\.<\/p>/);
    expect(html).toMatch(/<form [^>]*aria-describedby="login-error"/);
    expect(html).toMatch(/<button type="submit"[^>]*formaction="\/interaction\/abc\/abort" formnovalidate>/);
    expect(html).toContain('>Logg inn</button>');
  });

  test('the login page without an error has no alert', () => {
    const html = renderer.render('login', 'en', { ...baseVars.login, errorId: undefined });
    expect(html).not.toContain('role="alert"');
  });

  test('consent translates known scopes and claims and shows unknown ones as they are', () => {
    const html = renderer.render('consent', 'sv', baseVars.consent ?? {});
    expect(html).toContain(translate('sv', 'scope.offline_access'));
    expect(html).toContain('<li>urn:example:cases</li>');
    expect(html).toContain(translate('sv', 'claim.given_name'));
    expect(html).toContain('<li>custom_claim</li>');
    expect(html).toContain('name="_csrf" value="csrf-token-123"');
    const noClaims = renderer.render('consent', 'sv', { ...baseVars.consent, claims: [] });
    expect(noClaims).not.toContain(translate('sv', 'consent.claims_heading'));
  });

  test('logout keeps the provider form and posts both buttons to it', () => {
    const html = renderer.render('logout', 'en', baseVars.logout ?? {});
    expect(html).toContain('<form id="op.logoutForm" method="post" action="/session/end/confirm">');
    expect(html).toMatch(/<button type="submit" form="op\.logoutForm" name="logout" value="yes"[^>]*>Yes, log me out<\/button>/);
    expect(html).toMatch(/<button type="submit" form="op\.logoutForm" class="[^"]*">No, stay logged in<\/button>/);
  });

  test('expired offers a restart only when there is one', () => {
    expect(renderer.render('expired', 'en', { restartUrl: '/again' })).toContain('href="/again"');
    const html = renderer.render('expired', 'en', {});
    expect(html).toContain(translate('en', 'expired.go_back'));
    expect(html).not.toContain(translate('en', 'expired.restart'));
  });

  test('error shows the detail as small print and the back link', () => {
    const html = renderer.render('error', 'uk', baseVars.error ?? {});
    expect(html).toContain(translate('uk', 'error.oidc'));
    expect(html).toContain('<code>invalid_request</code>');
    expect(html).toContain(`href="/">${translate('uk', 'error.back')}</a>`);
    expect(() => renderer.render('error', 'en', { titleId: 'error.nope', messageId: 'error.oidc' })).toThrow(/Unknown message id/);
  });

  test('logged-out names the client when given', () => {
    expect(renderer.render('logged-out', 'nb', { clientName: 'Min side' })).toContain('Du er nå logget ut av Min side.');
    expect(renderer.render('logged-out', 'nb', {})).toContain('Du er nå logget ut av Nordlys ID.');
  });
});
