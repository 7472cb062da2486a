/**
 * The playground's pure parts and its switches: the config default (on in development, opt-in in
 * production, with a warning), the form parser, the curl rendering, and every page in every language.
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { supportedLocales } from '../../src/i18n/locales.js';
import { createRenderer } from '../../src/views/renderer.js';
import { authorizationParams, defaultSpec, parseSpec } from '../../src/playground/request-spec.js';
import { curlFor } from '../../src/playground/relying-party.js';
import { resultView, builderView, scenarioView } from '../../src/playground/views.js';
import { scenariosFor } from '../../src/playground/scenarios.js';
import { SUPPORTED_ACR_VALUES } from '../../src/policies/loa.js';
import { createTestDatabase } from '../support/databases.js';
import { freePort, startService } from '../support/service.js';
import type { RunResult } from '../../src/playground/results.js';

const productionEnv = {
  NODE_ENV: 'production',
  ISSUER: 'https://id.example.test',
  COOKIE_KEYS: 'a'.repeat(32),
  DPOP_NONCE_SECRET: 'ab'.repeat(32),
  PAIRWISE_SALT: 'c'.repeat(32),
  CODE_HMAC_SECRET: 'd'.repeat(32),
  KEY_ENCRYPTION_KEY: 'ef'.repeat(32),
  DATABASE_URL: 'postgres://nordlys@db.example.test/nordlys',
  TRUSTED_PROXIES: '10.0.0.0/8',
  SMTP_URL: 'smtp://mail.example.test:25',
};

describe('PLAYGROUND_ENABLED', () => {
  test('on in development, off in production unless set, and validated', () => {
    expect(loadConfig({}).playground.enabled).toBe(true);
    expect(loadConfig({ PLAYGROUND_ENABLED: 'false' }).playground.enabled).toBe(false);
    expect(loadConfig(productionEnv).playground.enabled).toBe(false);
    expect(loadConfig({ ...productionEnv, PLAYGROUND_ENABLED: 'true' }).playground.enabled).toBe(true);
    expect(() => loadConfig({ PLAYGROUND_ENABLED: 'sometimes' })).toThrow(ConfigError);
    expect(() => loadConfig({ PLAYGROUND_ENABLED: 'sometimes' })).toThrow(/PLAYGROUND_ENABLED: must be true or false/);
  });

  test('off: no pages and no built-in clients; on in production: a warning in the log', async () => {
    let db = await createTestDatabase('sqlite');
    try {
      const off = await startService({ db, env: { PLAYGROUND_ENABLED: 'false' } });
      try {
        expect((await fetch(`${off.url}/playground`)).status).toBe(404);
        expect(await off.service.provider().Client.find('playground')).toBeUndefined();
      } finally {
        await off.close();
      }
      await db.close();
      // Production on a database of its own: development's generated key-encryption key is not its key.
      db = await createTestDatabase('sqlite');
      const prod = await startService({ db, env: { ...productionEnv, PLAYGROUND_ENABLED: 'true' } });
      try {
        expect(prod.logs.join('')).toMatch(/"level":40[^\n]*the integrator playground is enabled in production/);
        const client = await prod.service.provider().Client.find('playground');
        expect(client?.redirectUris).toEqual(['https://id.example.test/playground/callback']);
      } finally {
        await prod.close();
      }
    } finally {
      await db.close();
    }
  });
});

test('a provider that does not answer gives a 503 page with Retry-After, not a hang or a 500', async () => {
  const db = await createTestDatabase('sqlite');
  // The issuer URL names a loopback port nobody listens on: the playground's HTTP calls are refused.
  const server = await startService({ db, issuerPort: await freePort(), env: { PLAYGROUND_ENABLED: 'true' } });
  try {
    const res = await fetch(`${server.url}/playground`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.text()).toContain('The playground cannot reach the provider right now.');
  } finally {
    await server.close();
    await db.close();
  }
});

describe('the request form', () => {
  const supported = { clientIds: ['playground'], scopes: ['openid', 'profile'], acrValues: SUPPORTED_ACR_VALUES };

  test('adds openid, names every bad field, and puts an essential acr in the claims parameter', () => {
    const good = parseSpec({ client: 'playground', scope: 'profile', acr_values: ['Level3', 'high'], essential_acr: 'Level4', par: 'on' }, supported);
    expect(good.invalid).toEqual([]);
    expect(good.spec).toMatchObject({ scope: ['openid', 'profile'], acrValues: ['Level3', 'high'], par: true, jar: false });
    const params = authorizationParams(good.spec, { redirectUri: 'https://x/cb', state: 's', nonce: 'n', codeChallenge: 'c' });
    expect(params).toMatchObject({ acr_values: 'Level3 high', code_challenge_method: 'S256', response_type: 'code' });
    expect(JSON.parse(params.claims!)).toEqual({ id_token: { acr: { essential: true, values: ['Level4'] } } });

    const bad = parseSpec({ client: 'other', scope: ['openid', 'admin'], acr_values: 'Level9', prompt: 'always', max_age: 'soon', ui_locales: 'de', essential_acr: 'x', login_hint: 'a'.repeat(201) }, supported);
    expect(bad.invalid).toEqual(['client', 'scope', 'acr_values', 'prompt', 'max_age', 'ui_locales', 'login_hint', 'essential_acr']);
  });

  test('the curl command elides the code, the verifier, refresh tokens and credentials', () => {
    const curl = curlFor({
      url: 'https://id.example/token',
      headers: { authorization: 'Basic c2VjcmV0', 'content-type': 'application/x-www-form-urlencoded', dpop: 'eyJ.proof' },
      body: 'grant_type=refresh_token&refresh_token=rt-secret&code=c-secret&code_verifier=v-secret&client_id=playground',
    })!;
    expect(curl).not.toMatch(/secret|c2VjcmV0|eyJ/);
    expect(curl).toContain('-d "grant_type=refresh_token"');
    expect(curl).toContain('-d "client_id=playground"');
    expect(curl).toContain('-H "authorization: Basic …"');
  });
});

describe('every playground page renders in every language', () => {
  const renderer = createRenderer(fileURLToPath(new URL('../../views', import.meta.url)));
  const metadata = { issuer: 'https://id.example', scopes_supported: ['openid', 'profile'], acr_values_supported: SUPPORTED_ACR_VALUES };
  const result: RunResult = {
    spec: { ...defaultSpec('playground'), acrValues: ['substantial'] },
    authUrl: 'https://id.example/auth?x=1',
    response: { code: 'c', state: 's', iss: 'https://id.example' },
    idToken: { header: { alg: 'ES256', kid: 'k1' }, claims: { sub: 'a', acr: 'substantial', amr: ['Minid-OTC'], auth_time: 1, sid: 's', pid: '1' }, signature: { valid: true, kid: 'k1', alg: 'ES256', kty: 'EC' } },
    tokens: { accessToken: 'at', refreshToken: 'rt', idToken: 'it' },
    actions: [{ kind: 'introspect', ok: false, problem: { error: 'playground.problem.public_client' } }, { kind: 'refresh', ok: false, problem: { error: 'invalid_grant' } }],
  };
  const common = { csrf: 't', languages: supportedLocales, pagePath: '/playground' };
  // The "inactive" scenario names the idle timeout in minutes, or in seconds when it is not whole minutes.
  const inMinutes = scenariosFor({ sessions: { idleTimeoutSeconds: 1800, maxLifetimeSeconds: 43200 } });
  const inSeconds = scenariosFor({ sessions: { idleTimeoutSeconds: 20, maxLifetimeSeconds: 120 } }).find((s) => s.id === 'inactive')!;
  const SCENARIOS = [...inMinutes, inSeconds];

  test.each(supportedLocales)('%s', (locale) => {
    const pages = [
      renderer.render('playground/builder.njk', locale, { ...common, production: true, ...builderView({ metadata, spec: defaultSpec('playground'), clients: [{ client_id: 'playground' }], builtIn: [{ client_id: 'playground' }], scenarios: SCENARIOS }) }),
      renderer.render('playground/result.njk', locale, { ...common, ...resultView(result, []) }),
      renderer.render('playground/result.njk', locale, { ...common, ...resultView({ ...result, idToken: undefined, tokens: undefined, problem: { error: 'unmet_authentication_requirements' } } as RunResult, []) }),
      ...SCENARIOS.map((s) => renderer.render('playground/scenario.njk', locale, { ...common, ...scenarioView(s, [{ error: 'access_denied', pidReleased: false }, { acr: 'high', pidReleased: true }], undefined) })),
      // The idle check passed: the verdict, and the step the person checks on the login page.
      ...[inMinutes.find((s) => s.id === 'inactive')!, inSeconds].map((s) => renderer.render('playground/scenario.njk', locale, { ...common, ...scenarioView(s, [{ sid: 'x', authTime: 1, pidReleased: false }, { error: 'login_required', pidReleased: false }], undefined) })),
      renderer.render('playground/logged-out.njk', locale, { ...common, hasRequest: true }),
      renderer.render('playground/message.njk', locale, { ...common, titleId: 'playground.callback.unknown_title', messageId: 'playground.callback.unknown' }),
    ];
    for (const html of pages) expect(html).toContain(`<html lang="${locale}">`);
    expect(pages[0]).toContain('playground-banner');
    expect(pages[1]).not.toContain('playground-banner');
    // Step up asks for the next level above the one reached, in the same vocabulary.
    expect(pages[1]).toMatch(/action="\/playground\/action\/step-up"[\s\S]*?\(high\)<\/button>/);
  });

  test('the idle scenario names the configured timeout, in seconds when it is not whole minutes', () => {
    const page = renderer.render('playground/scenario.njk', 'en', { ...common, ...scenarioView(inSeconds, [{ sid: 'x', authTime: 1, pidReleased: false }], undefined) });
    expect(page).toContain('<h1>Inactive for 20 seconds</h1>');
    expect(page).toContain('Do nothing for 20 seconds');
    expect(page).toContain('You were logged out because you were inactive for 20 seconds.');
    expect(page).not.toContain('npm start');
  });
});
