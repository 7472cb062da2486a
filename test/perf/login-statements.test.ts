/**
 * How many SQL statements one full password login costs (issue 13), counted on PostgreSQL with knex's
 * `query` event: authorize → login page → POST password → consent page → POST consent → code at the RP →
 * token (client_secret_basic) → userinfo, for client `conf`, after one warm-up login. Also a
 * client_credentials token, an introspection and a userinfo call on their own. The figures are a
 * regression guard: the count is deterministic, not timed: the service is served without `listen()`,
 * so no sweeper, key reload or outbox timer runs beside the counted requests. The statements are printed grouped by shape (SQL text only, never the bindings).
 *
 * The login is counted twice: from loopback, where per-IP limits do not apply (README, "Abuse
 * resistance"), and from a client behind a trusted proxy, whose per-IP counters share the per-client and per-account statements.
 */
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import { postgresUrl, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { CONFIDENTIAL_SECRET, RP, freePort, writeClientsFile } from '../support/service.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { createService, type Service } from '../../src/service/index.js';
import { Browser, ForwardedBrowser } from '../support/browser.js';
import { TEST_USER, insecure } from '../support/rp.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';

/**
 * The achieved figures; raising one needs a reason in the commit.
 * The 19 statements of a login (from loopback or from behind a trusted proxy: the per-IP counts share
 * the account's statements, store/rate-limits.ts hitEach), and why each is there (issue 13). Within one
 * request the adapter keeps its saves and deletes, and the audit events, and sends them as one statement
 * when the request ends or something must see them (store/deferred-writes.ts); "stored together" below
 * is that one statement.
 * - authorize+login page (2): the provider saves the new Interaction, and it goes in front of the
 *   per-client window of new logins (auth-admission.ts, one upsert; no per-IP row for loopback) as one
 *   statement (deferred-writes.ts `sendWith`); our page loads the Interaction.
 *   The "Start again" link is a signed cookie, no row (restart.ts).
 * - password+consent page (7): load the Interaction; the credentials (with last_login_at, so a login
 *   within ten minutes of the last writes no accounts row); the account's failure count, counted before
 *   the hash so parallel guesses cannot slip past it (one upsert); its clear on success (with the IP's
 *   refund behind a proxy), the audit row and the result in the Interaction stored together. Resume at /auth/:uid: the
 *   Interaction read with the account its login chose (findAccount is answered from it,
 *   store/payload-reads.ts); its destroy (single use), the consent Interaction and the new Session stored
 *   together. Consent page: the Interaction with its Session in one statement (the provider checks the
 *   session still exists and has the same account, so a revoked session must be seen at once).
 * - consent+code (5): the Interaction with its Session (as above); the Grant, the audit row and the
 *   result in the Interaction stored together. Resume: the Session by cookie; the Interaction read with
 *   the Grant its consent saved and its account; its destroy, the AuthorizationCode and the rotated
 *   Session (the provider destroys the old id and saves the new: session fixation) stored together.
 * - token (4) and userinfo (1): the client version, the code with its Grant, Session and account in one
 *   statement, the consume that decides exactly-once, the AccessToken, RefreshToken and audit row stored
 *   together (both or neither); userinfo: the token with its Grant, Session and account.
 */
const LIMITS = {
  login: 19,
  loginBehindProxy: 19,
  clientCredentials: 2,
  introspection: 2,
  userinfo: 1,
};

const shapeOf = (sql: string) => sql.replace(/\s+/g, ' ').replace(/\(\s*(?:\?|\$\d+)(?:\s*,\s*(?:\?|\$\d+))*\s*\)/g, '(…)').replace(/\$\d+/g, '?').trim();

const runOrSkip = postgresUrl ? describe : describe.skip;

runOrSkip('SQL statements per request on PostgreSQL', () => {
  let db: TestDatabase;
  let service: Service;
  let web: http.Server;
  let url: string;
  let dataDir: string;
  let counting: string[] | undefined;
  const report: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    db.knex.on('query', (q: { sql: string }) => counting?.push(q.sql));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-perf-'));
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      ISSUER: url,
      CLIENTS_FILE: writeClientsFile(),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      REQUEST_DEADLINE_MS: '60000',
      // The test is the proxy of the second login (loopback).
      TRUSTED_PROXIES: 'loopback',
    });
    service = await createService({ config, logger: createLogger(config.logLevel), db });
    web = http.createServer(service.app.callback());
    await new Promise<void>((resolve) => web.listen(port, '127.0.0.1', resolve));
    await createLocalAccount(db, systemClock, { email: TEST_USER.email, name: TEST_USER.name, password: TEST_USER.password });
  });
  afterAll(async () => {
    if (web) await new Promise((resolve) => web.close(resolve));
    await service?.close();
    await db?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    if (report.length) process.stdout.write(`${report.join('\n')}\n`);
  });

  /** Runs `work` and returns the statements it caused, audit writes included. */
  async function count<T>(work: () => Promise<T>): Promise<{ value: T; statements: string[] }> {
    await service.audit.settled();
    counting = [];
    try {
      const value = await work();
      await service.audit.settled();
      return { value, statements: counting };
    } finally {
      counting = undefined;
    }
  }

  function describeStatements(title: string, steps: Array<[string, string[]]>): number {
    const all = steps.flatMap(([, s]) => s);
    report.push(`\n${title}: ${all.length} statements (${steps.map(([name, s]) => `${name} ${s.length}`).join(', ')})`);
    const byShape = new Map<string, number>();
    for (const sql of all) byShape.set(shapeOf(sql), (byShape.get(shapeOf(sql)) ?? 0) + 1);
    for (const [shape, n] of [...byShape].sort((x, y) => y[1] - x[1])) report.push(`  ${String(n).padStart(3)} × ${shape.slice(0, 220)}`);
    return all.length;
  }

  const confConfig = () => oidc.discovery(new URL(url), 'conf', {}, oidc.ClientSecretBasic(CONFIDENTIAL_SECRET), insecure);

  /** One full login with consent, step by step; returns the statements of each step and the tokens. */
  async function fullLogin(config: oidc.Configuration, browser: Browser) {
    const steps: Array<[string, string[]]> = [];
    const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      const { value, statements } = await count(work);
      steps.push([name, statements]);
      return value;
    };
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid email profile',
      prompt: 'consent',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const loginPage = await step('authorize+login page', () => browser.go(url.toString()));
    expect(loginPage.html).toContain('name="password"');
    const consentPage = await step('password+consent page', () => browser.submit(loginPage, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password }));
    expect(consentPage.html).toContain('/consent"');
    const callback = await step('consent+code', () => browser.submit(consentPage, /\/consent$/, {}));
    expect(callback.url.startsWith(RP)).toBe(true);
    const tokens = await step('token', () => oidc.authorizationCodeGrant(config, new URL(callback.url), { pkceCodeVerifier: verifier, expectedState: state }));
    const claims = tokens.claims()!;
    const userinfo = await step('userinfo', () => oidc.fetchUserInfo(config, tokens.access_token, claims.sub));
    expect(userinfo.email).toBe(TEST_USER.email);
    return { steps, tokens };
  }

  test('a full password login, from loopback and from behind a trusted proxy', async () => {
    const config = await confConfig();
    await fullLogin(config, new Browser(url));
    const loopback = await fullLogin(config, new Browser(url));
    const proxied = await fullLogin(config, new ForwardedBrowser(url, '203.0.113.7'));
    const total = describeStatements('full login from loopback', loopback.steps);
    const totalProxied = describeStatements('full login behind a trusted proxy (client 203.0.113.7)', proxied.steps);
    expect(total).toBeLessThanOrEqual(LIMITS.login);
    expect(totalProxied).toBeLessThanOrEqual(LIMITS.loginBehindProxy);
  });

  test('client_credentials, introspection and userinfo on their own', async () => {
    const machine = await oidc.discovery(new URL(url), 'machine', {}, oidc.ClientSecretBasic(CONFIDENTIAL_SECRET), insecure);
    await oidc.clientCredentialsGrant(machine, { scope: 'openid' });
    const cc = await count(() => oidc.clientCredentialsGrant(machine, { scope: 'openid' }));
    expect(cc.value.access_token).toBeDefined();

    const config = await confConfig();
    const { tokens } = await fullLogin(config, new Browser(url));
    const sub = tokens.claims()!.sub;
    await oidc.tokenIntrospection(config, tokens.access_token);
    const introspection = await count(() => oidc.tokenIntrospection(config, tokens.access_token));
    expect(introspection.value.active).toBe(true);
    const userinfo = await count(() => oidc.fetchUserInfo(config, tokens.access_token, sub));
    expect(userinfo.value.sub).toBe(sub);

    const n = {
      clientCredentials: describeStatements('client_credentials token', [['token', cc.statements]]),
      introspection: describeStatements('introspection of an access token', [['introspect', introspection.statements]]),
      userinfo: describeStatements('userinfo', [['userinfo', userinfo.statements]]),
    };
    expect(n.clientCredentials).toBeLessThanOrEqual(LIMITS.clientCredentials);
    expect(n.introspection).toBeLessThanOrEqual(LIMITS.introspection);
    expect(n.userinfo).toBeLessThanOrEqual(LIMITS.userinfo);
  });
});
