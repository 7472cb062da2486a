/**
 * The integrator playground, black-box on each dialect: the builder offers what discovery supports,
 * a run through the real login lands on the result page with decoded and verified tokens, and the
 * buttons (refresh, introspect, revoke, prompt=none, logout) make real requests. Results belong to
 * the browser that made them; every form needs its CSRF token. A relying party registered through the
 * admin API is offered as soon as it exists, never with its secret.
 */
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { TEST_USER } from '../support/rp.js';
import { Browser, type Page } from '../support/browser.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { cliClientsService } from '../../src/cli/clients.js';
import { systemClock } from '../../src/clock.js';
import { eidClientsFile, logInLocally, type Flow } from '../brokers/eid-support.js';
import { claimValue, csrfOf, errorCode, post, runRequest } from './support.js';

const asFlow = (browser: Browser) => ({ browser }) as unknown as Flow;

describe.each(dialects)('the playground on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true', PLAYGROUND_ENABLED: 'true' } });
    await createLocalAccount(db, systemClock, TEST_USER);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  async function logIn(browser: Browser, fields: Array<[string, string]>): Promise<Page> {
    const login = await runRequest(browser, fields);
    expect(login.url).toContain('/interaction/');
    const result = await logInLocally(asFlow(browser), login, TEST_USER.email, TEST_USER.password);
    expect(result.url).toMatch(/\/playground\/result$/);
    return result;
  }

  test('the builder offers every acr value and scope in discovery, and the configured clients', async () => {
    const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as { acr_values_supported: string[]; scopes_supported: string[] };
    const page = await new Browser(server.url).go('/playground');
    expect(page.status).toBe(200);
    expect(page.html).toContain('Build an authorization request');
    expect(discovery.acr_values_supported.length).toBeGreaterThan(10);
    for (const value of discovery.acr_values_supported) expect(page.html).toContain(`name="acr_values" value="${value}"`);
    for (const value of discovery.scopes_supported) expect(page.html).toContain(`name="scope" value="${value}"`);
    expect(page.html).toContain('level high (security level 4)');
    for (const id of ['playground', 'playground-confidential', 'playground-udi', 'udi', 'se']) expect(page.html).toContain(`<option value="${id}"`);
  });

  test('a configured client gets the URL to copy, with its own redirect URI and the verifier', async () => {
    const browser = new Browser(server.url);
    const builder = await browser.go('/playground');
    const page = await post(browser, builder, '/playground/request', [['client', 'udi'], ['scope', 'openid'], ['acr_values', 'Level4'], ['run', 'open']]);
    expect(page.status).toBe(200);
    const url = new URL(/<pre[^>]*id="authorization-url"[^>]*><code>([^<]+)<\/code>/.exec(page.html)![1]!.replace(/&amp;/g, '&'));
    expect(url.searchParams.get('client_id')).toBe('udi');
    expect(url.searchParams.get('redirect_uri')).toBe('http://127.0.0.1:8999/callback');
    expect(url.searchParams.get('acr_values')).toBe('Level4');
    expect(page.html).toContain('id="code-verifier"');
    expect(page.html).toContain('client.buildAuthorizationUrl(config, parameters)');
  });

  test('a relying party registered through the admin API is offered at once, without its secret; a client without redirect URIs is not', async () => {
    const cli = await cliClientsService(db, server.config);
    const admin = await cli.create({ client_name: 'Operations', grant_types: ['client_credentials'], scope: 'nordlys:admin' }, { kind: 'cli' }, 'playground-ops');
    const issued = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`playground-ops:${admin.client_secret!}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'nordlys:admin' }),
    });
    const { access_token: token } = (await issued.json()) as { access_token: string };
    const created = await fetch(`${server.url}/admin/api/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Registered through the API', redirect_uris: ['http://127.0.0.1:8999/api-callback'], scope: 'openid' }),
    });
    expect(created.status).toBe(201);
    const client = (await created.json()) as { client_id: string; client_secret: string };

    const browser = new Browser(server.url);
    const builder = await browser.go('/playground');
    expect(builder.html).toContain(`<option value="${client.client_id}"`);
    expect(builder.html).toContain('Registered through the API');
    expect(builder.html).not.toContain(client.client_secret);
    // The admin client is no relying party: it has nowhere to send a browser back to.
    expect(builder.html).not.toContain('<option value="playground-ops"');
    const page = await post(browser, builder, '/playground/request', [['client', client.client_id], ['scope', 'openid'], ['run', 'open']]);
    expect(page.status).toBe(200);
    const url = new URL(/<pre[^>]*id="authorization-url"[^>]*><code>([^<]+)<\/code>/.exec(page.html)![1]!.replace(/&amp;/g, '&'));
    expect(url.searchParams.get('client_id')).toBe(client.client_id);
    expect(url.searchParams.get('redirect_uri')).toBe('http://127.0.0.1:8999/api-callback');
    expect(page.html).not.toContain(client.client_secret);
  });

  test('a bad value is named, not sent', async () => {
    const browser = new Browser(server.url);
    const builder = await browser.go('/playground');
    const page = await post(browser, builder, '/playground/request', [['client', 'playground'], ['acr_values', 'Level9'], ['max_age', '-1']]);
    expect(page.status).toBe(400);
    expect(page.html).toContain('acr_values, max_age');
  });

  test('confidential client: result with verified id_token, curl without secrets; refresh, introspect, revoke', async () => {
    const browser = new Browser(server.url);
    const result = await logIn(browser, [['client', 'playground-confidential'], ['scope', 'openid'], ['scope', 'profile'], ['scope', 'offline_access'], ['prompt', 'consent']]);
    expect(result.html).toMatch(/data-param="code"/);
    expect(result.html).toMatch(/data-param="iss"/);
    expect(claimValue(result, 'acr')).toBe('low');
    expect(claimValue(result, 'amr')).toBe('["pwd"]');
    expect(claimValue(result, 'sid')).toMatch(/^[\w-]{20,}$/);
    expect(claimValue(result, 'auth_time')).toMatch(/^\d+$/);
    expect(result.html).toContain('max_age is measured from this');
    expect(result.html).toContain('data-signature="valid"');
    expect(result.html).toMatch(/signed with key [\w-]+ \((RSA|EC), (RS256|ES256)\)/);
    expect(result.html).toContain('pairwise subject');
    expect(result.html).toContain('-d &quot;code=…&quot;');
    expect(result.html).toContain('-H &quot;authorization: Basic …&quot;');
    expect(result.html).toContain('&quot;name&quot;: &quot;Kari Nordmann&quot;'); // userinfo

    const refreshed = await post(browser, result, '/playground/action/refresh');
    expect(refreshed.html).toMatch(/data-action="refresh" data-ok="yes"/);
    expect(refreshed.html).toContain('grant_type=refresh_token');
    const introspected = await post(browser, refreshed, '/playground/action/introspect');
    expect(introspected.html).toMatch(/data-action="introspect" data-ok="yes"[\s\S]*?&quot;active&quot;: true/);
    const revoked = await post(browser, introspected, '/playground/action/revoke');
    expect(revoked.html).toMatch(/data-action="revoke" data-ok="yes"[\s\S]*?The refresh token is revoked, and the grant with it/);
    const after = await post(browser, revoked, '/playground/action/introspect');
    expect(after.html).toMatch(/data-action="introspect" data-ok="yes"[\s\S]*?&quot;active&quot;: false/);
  });

  test('public client: introspection is refused with the reason; PAR and a signed request object work', async () => {
    const browser = new Browser(server.url);
    const builder = await browser.go('/playground');
    const shown = await post(browser, builder, '/playground/request', [['client', 'playground'], ['scope', 'openid'], ['par', 'on'], ['jar', 'on'], ['run', 'show']]);
    const href = /id="open-request" href="([^"]+)"/.exec(shown.html)![1]!.replace(/&amp;/g, '&');
    expect(new URL(href).searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(shown.html).toContain('buildAuthorizationUrlWithPAR');
    const login = await browser.go(href);
    const result = await logInLocally(asFlow(browser), login, TEST_USER.email, TEST_USER.password);
    expect(result.url).toMatch(/\/playground\/result$/);
    expect(result.html).toContain('public subject');
    const refused = await post(browser, result, '/playground/action/introspect');
    expect(refused.html).toMatch(/data-action="introspect" data-ok="no"[\s\S]*?A public client cannot introspect/);
  });

  test('prompt=none uses the session; after RP-initiated logout it gets login_required', async () => {
    const browser = new Browser(server.url);
    const result = await logIn(browser, [['client', 'playground'], ['scope', 'openid']]);
    const sso = await post(browser, result, '/playground/action/prompt-none');
    expect(sso.url).toMatch(/\/playground\/result$/);
    expect(errorCode(sso)).toBeUndefined();
    expect(claimValue(sso, 'sub')).toBe(claimValue(result, 'sub'));

    const confirm = await post(browser, sso, '/playground/action/logout');
    expect(confirm.html).toContain('op.logoutForm');
    const loggedOut = await browser.submit(confirm, /\/session\/end\/confirm$/, { logout: 'yes' });
    expect(loggedOut.url).toMatch(/\/playground\/logged-out/);
    // The provider's back-channel logout reached the playground, for this very session.
    expect(loggedOut.html).toContain(`back-channel logout token for this session (sid ${claimValue(result, 'sid')},`);
    const none = await post(browser, loggedOut, '/playground/action/prompt-none');
    expect(errorCode(none)).toBe('login_required');
    expect(none.html).toContain('there is no session that satisfies the request');
  });

  test('a result and a callback belong to the browser that made the request', async () => {
    const mine = new Browser(server.url);
    const login = await runRequest(mine, [['client', 'playground'], ['scope', 'openid']]);
    const stopped = await mine.submit(login, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password }, { stopAt: /\/playground\/callback\?/ });
    const callbackUrl = stopped.url;
    expect(new URL(callbackUrl).searchParams.get('code')).toBeTruthy();

    // Another browser with my authorization response: its session sent no such state, so nothing is redeemed.
    const other = new Browser(server.url);
    const stray = await other.go(callbackUrl);
    expect(stray.status).toBe(400);
    expect(stray.html).toContain('does not belong to a request of yours');
    expect((await other.go('/playground/result')).url).toMatch(/\/playground$/);

    // My browser still completes it, once.
    const result = await mine.go(callbackUrl);
    expect(result.url).toMatch(/\/playground\/result$/);
    expect(claimValue(result, 'sub')).toBeTruthy();
    expect((await mine.go(callbackUrl)).status).toBe(400);
    expect((await other.go('/playground/result')).html).not.toContain('data-claim="sub"');
  });

  test('the back-channel logout endpoint accepts only a logout token signed by the provider', async () => {
    const send = (body: string) => fetch(`${server.url}/playground/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect((await send('logout_token=')).status).toBe(400);
    const unsigned = `${Buffer.from('{"alg":"none","typ":"logout+jwt"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: server.url, aud: 'playground', sid: 'x', iat: 1, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })).toString('base64url')}.`;
    expect((await send(`logout_token=${unsigned}`)).status).toBe(400);
  });

  test('every playground form needs its CSRF token', async () => {
    const browser = new Browser(server.url);
    const builder = await browser.go('/playground');
    expect(csrfOf(builder)).toBeTruthy();
    for (const action of ['/playground/request', '/playground/action/refresh', '/playground/scenario/step-up']) {
      const page = await browser.go(action, { method: 'POST', body: new URLSearchParams({ client: 'playground', _csrf: 'forged' }) });
      expect([action, page.status]).toEqual([action, 403]);
    }
  });

  // Secure too: the issuer is loopback http, which browsers treat as a secure context (provider/post-methods.ts).
  test('the session cookie is opaque, signed, httpOnly and SameSite', async () => {
    const res = await fetch(`${server.url}/playground`);
    const cookies = res.headers.getSetCookie().filter((c) => c.startsWith('nordlys_playground'));
    expect(cookies.find((c) => c.startsWith('nordlys_playground='))).toMatch(/^nordlys_playground=[A-Za-z0-9_-]{43}; path=\/playground; samesite=lax; secure; httponly$/);
    expect(cookies.some((c) => c.startsWith('nordlys_playground.sig='))).toBe(true);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });
});
