/**
 * Logs explain refusals and keep secrets out, on each dialect. Redaction goes by where a secret lives:
 * a refusal's own error `code` (and an `err.code`) survives while a `code` among request parameters is
 * censored. Then a whole login and token flow of a confidential client, with every log level on: the
 * refusals it provokes (a bad CSRF token, a replayed authorization code, a wrong client secret) are
 * logged with their real codes, and none of the actual secret values of the flow — the password, the
 * e-mail address, the authorization code, the access, refresh and id tokens, the client secret, the
 * cookies and the CSRF token — appears in any log line.
 */
import { Writable } from 'node:stream';
import * as oidc from 'openid-client';
import { createLogger } from '../../src/logger.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import { Browser, type Page } from '../support/browser.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { CONFIDENTIAL_SECRET, RP, startService, type RunningService } from '../support/service.js';
import { discover, TEST_USER } from '../support/rp.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: createLogger('trace', sink), lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('redaction by where a secret lives', () => {
  test('our error code and err.code survive; codes among request parameters, passwords, tokens, cookies and secrets do not', () => {
    const { logger, lines, parsed } = capture();
    logger.info(
      {
        code: 'csrf_token_invalid',
        err: { code: 'ECONNREFUSED', message: 'connect failed', cause: { code: '23505', detail: 'Key (broker, subject)=(idporten, 14038541286) already exists.' } },
        query: { code: 'AUTHZ-IN-QUERY', state: 'st' },
        body: { code: 'OTP-IN-BODY', password: 'PW-IN-BODY', client_secret: 'CS-IN-BODY', refresh_token: 'RT-IN-BODY' },
        params: { code: 'CODE-IN-PARAMS' },
        req: { query: { code: 'AUTHZ-IN-REQ-QUERY' }, body: { code: 'OTP-IN-REQ-BODY' }, headers: { cookie: 'COOKIE-HEADER', authorization: 'Basic BASIC-CREDENTIALS' } },
        res: { headers: { 'set-cookie': ['SET-COOKIE-VALUE'] } },
        location: 'http://127.0.0.1:8999/callback?code=AUTHZ-IN-LOCATION&state=st',
        password: 'TOP-LEVEL-PASSWORD',
        tokens: { access_token: 'AT-VALUE', id_token: 'IDT-VALUE' },
      },
      'shapes',
    );
    const [line] = parsed();
    expect(line).toMatchObject({
      code: 'csrf_token_invalid',
      err: { code: 'ECONNREFUSED', cause: { code: '23505', detail: '[redacted]' } },
      query: { code: '[redacted]', state: 'st' },
      body: { code: '[redacted]', password: '[redacted]', client_secret: '[redacted]', refresh_token: '[redacted]' },
      params: { code: '[redacted]' },
      req: { query: { code: '[redacted]' }, body: { code: '[redacted]' }, headers: { cookie: '[redacted]', authorization: '[redacted]' } },
      res: { headers: { 'set-cookie': '[redacted]' } },
      location: 'http://127.0.0.1:8999/callback?[redacted]',
      password: '[redacted]',
      tokens: { access_token: '[redacted]', id_token: '[redacted]' },
    });
    for (const secret of ['AUTHZ-', 'OTP-', 'PW-', 'CS-', 'RT-', 'CODE-IN', 'COOKIE-HEADER', 'BASIC-CREDENTIALS', 'SET-COOKIE-VALUE', 'TOP-LEVEL-PASSWORD', 'AT-VALUE', 'IDT-VALUE', '14038541286']) {
      expect(lines.join('')).not.toContain(secret);
    }
  });
  test('secrets in arrays, in child bindings and in nested errors are censored; the logged object itself is left alone', () => {
    const { logger, lines, parsed } = capture();
    const nested = Object.assign(new Error('nested'), { code: '23505', detail: 'Key (email)=(ola@example.no) already exists.' });
    const logged = { clients: [{ client_id: 'a', client_secret: 'CS-IN-ARRAY' }], when: new Date(0), failure: { err: nested }, deep: { a: { b: { c: { password: 'BELOW-LEVEL-THREE' } } } } };
    logger.child({ token: 'BOUND-TOKEN', reqId: 'r1' }).info(logged, 'shapes');
    expect(parsed()[0]).toMatchObject({
      token: '[redacted]',
      reqId: 'r1',
      clients: [{ client_id: 'a', client_secret: '[redacted]' }],
      when: '1970-01-01T00:00:00.000Z',
      failure: { err: { code: '23505', detail: '[redacted]' } },
    });
    for (const secret of ['CS-IN-ARRAY', 'BOUND-TOKEN', 'ola@example.no']) expect(lines.join('')).not.toContain(secret);
    // As before: the rules reach three levels (four for parameters and error details), no deeper.
    expect(lines.join('')).toContain('BELOW-LEVEL-THREE');
    expect(logged.clients[0]!.client_secret).toBe('CS-IN-ARRAY');
    expect(nested.detail).toContain('ola@example.no');
  });
  test('a real database error keeps its code and loses the row values in its detail, also as a cause', () => {
    const { logger, lines, parsed } = capture();
    const unique = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505', detail: 'Key (broker, subject)=(idporten, 14038541286) already exists.' });
    logger.error({ err: unique }, 'direct');
    logger.error({ err: new Error('login failed', { cause: unique }) }, 'wrapped');
    expect(lines.join('')).not.toContain('14038541286');
    const [direct, wrapped] = parsed() as Array<{ msg: string; err: { code?: string; detail?: string; message?: string } }>;
    expect(direct!.err).toMatchObject({ code: '23505', detail: '[redacted]' });
    // pino folds a cause into the message and stack; its properties (the detail) are not logged.
    expect(wrapped).toMatchObject({ msg: 'wrapped', err: { message: expect.stringContaining('duplicate key') } });
  });
});

describe.each(dialects)('logs of a whole login and token flow on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db, env: { LOG_LEVEL: 'trace' } });
    await createLocalAccount(db, systemClock, TEST_USER);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  const logLines = () => server.logs.join('').split('\n').filter(Boolean);
  const records = () => logLines().map((l) => JSON.parse(l) as Record<string, unknown>);
  const csrfOf = (page: Page) => /name="_csrf" value="([^"]+)"/.exec(page.html)?.[1];

  test('refusals carry their real codes; no secret value of the flow reaches a log line', async () => {
    const config = await discover(server.url, 'conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const browser = new Browser(server.url);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid email offline_access',
      prompt: 'consent',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const loginPage = await browser.go(url.toString());
    const csrf = csrfOf(loginPage);
    expect(csrf).toBeDefined();

    // A refusal of ours: a forged CSRF token.
    const forged = await browser.submit(loginPage, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password, _csrf: 'forged' });
    expect(forged.status).toBe(403);
    const refused = records().find((r) => r.msg === 'request refused');
    expect(refused).toMatchObject({ code: 'csrf_token_invalid' });

    let page = await browser.submit(loginPage, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password });
    if (page.html.includes('/consent"')) page = await browser.submit(page, /\/consent$/, {});
    expect(page.url.startsWith(RP)).toBe(true);
    const callback = new URL(page.url);
    const code = callback.searchParams.get('code')!;
    expect(code.length).toBeGreaterThan(20);

    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    await oidc.fetchUserInfo(config, refreshed.access_token, tokens.claims()!.sub);
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(true);
    await oidc.tokenRevocation(config, refreshed.refresh_token ?? tokens.refresh_token!);

    // oidc-provider's refusals: the same code again, and a wrong client secret.
    await expect(oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state })).rejects.toMatchObject({ error: 'invalid_grant' });
    const wrongSecret = await discover(server.url, 'conf', oidc.ClientSecretBasic('not-the-secret-but-long-enough-0000'));
    await expect(oidc.refreshTokenGrant(wrongSecret, tokens.refresh_token!)).rejects.toThrow(); // a 401 with a WWW-Authenticate challenge
    const oidcRefusals = records().filter((r) => r.msg === 'oidc request refused').map((r) => r.error);
    expect(oidcRefusals).toEqual(expect.arrayContaining(['invalid_grant', 'invalid_client']));

    // Every secret the flow handled, by its actual value.
    // `_interaction` and `_interaction_resume` hold the interaction uid, which oidc-provider puts in the
    // page URL by design (it is no secret: the signed `.sig` cookie beside it binds it to the browser).
    const jar = [...(browser as unknown as { cookies: Map<string, { name: string; value: string }> }).cookies.values()];
    const cookies = jar.filter((c) => !/^_interaction(_resume)?$/.test(c.name)).map((c) => c.value);
    expect(jar.map((c) => c.name)).toEqual(expect.arrayContaining(['_session', '_session.sig']));
    const secrets: Record<string, string> = {
      password: TEST_USER.password,
      email: TEST_USER.email,
      authorizationCode: code,
      codeVerifier: verifier,
      accessToken: tokens.access_token,
      refreshedAccessToken: refreshed.access_token,
      refreshToken: tokens.refresh_token!,
      rotatedRefreshToken: refreshed.refresh_token ?? tokens.refresh_token!,
      idToken: tokens.id_token!,
      clientSecret: CONFIDENTIAL_SECRET,
      basicCredentials: Buffer.from(`conf:${CONFIDENTIAL_SECRET}`).toString('base64'),
      csrf: csrf!,
      ...Object.fromEntries(cookies.map((v, i) => [`cookie${i}`, v])),
    };
    const lines = logLines();
    expect(lines.length).toBeGreaterThan(20);
    const leaks = Object.entries(secrets).flatMap(([name, value]) => lines.filter((l) => l.includes(value)).map((l) => `${name}: ${l}`));
    expect(leaks).toEqual([]);
  });
});
