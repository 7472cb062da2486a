/**
 * The audit trail, complete, on each dialect: each kind of event is recorded by doing the real thing —
 * a password login and an ID-porten login, consent, tokens by grant, refresh-token reuse, RP-initiated
 * logout, a password reset, a session that times out, CLI key rotation and client registration — and
 * appears both as a database row and as a log line with "audit": true, with its actor. No secret of the
 * flows and no national identity number appears in either. Then: query filters and cursor pagination,
 * and the CLI's NDJSON export. The CLI runs from the build (`npm test` builds first).
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import knexFactory from 'knex';
import * as oidc from 'openid-client';
import { appRoot } from '../../src/app-root.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { createService, type Service } from '../../src/service/index.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { exportAudit, queryAudit, type AuditRecord } from '../../src/store/audit.js';
import { dialects, postgresUrl } from '../support/databases.js';
import { CONFIDENTIAL_SECRET, RP, freePort } from '../support/service.js';
import { Browser } from '../support/browser.js';
import { codeFlow, discover, TEST_USER } from '../support/rp.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { beginLogin, choosePassword, enterCode, requestCode } from '../support/local-accounts.js';
import { KARI, atMock, begin, chooseMethod, eidClientsFile, redeem } from '../brokers/eid-support.js';

const cli = path.join(appRoot(), 'dist/src/cli/index.js');
const HOUR = 3600_000;

type AuditLine = Record<string, unknown> & { audit?: boolean; event?: string; accountId?: string; actor?: string };

describe.each(dialects)('the audit trail on %s', (dialect) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-audit-'));
  const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
  let databaseUrl: string;
  let env: Record<string, string>;
  let smtp: TestSmtp;
  let service: Service;
  let url: string;
  let offset = 0; // our clock, moved forward for the timeout; oidc-provider's time is not needed there
  const lines: string[] = [];
  let onLine: () => void = () => undefined;
  const secrets: Record<string, string> = { password: TEST_USER.password, email: TEST_USER.email, clientSecret: CONFIDENTIAL_SECRET, nationalId: KARI };
  let accountId: string;

  const auditLines = (): AuditLine[] => lines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l) as AuditLine).filter((l) => l.audit === true);
  /** Resolves when a matching audit line has been logged: an event, bounded by the jest timeout. */
  const logged = (match: (l: AuditLine) => boolean) =>
    new Promise<AuditLine>((resolve) => {
      const check = () => {
        const hit = auditLines().find(match);
        if (hit) resolve(hit);
      };
      const previous = onLine;
      onLine = () => {
        previous();
        check();
      };
      check();
    });
  const rows = async (event: string) => {
    await service.audit.settled();
    return (await queryAudit(service.db, { event }, { limit: 1000 })).events;
  };
  /** The event is in the database and in the log, with the actor and the account given. */
  async function expectRecorded(event: string, expected: Partial<AuditRecord>): Promise<AuditRecord> {
    const stored = (await rows(event)).find((r) => Object.entries(expected).every(([k, v]) => (r as unknown as Record<string, unknown>)[k] === v));
    expect(stored).toBeDefined();
    const line = auditLines().find((l) => l.event === event && l.actor === stored!.actor && (expected.accountId === undefined || l.accountId === expected.accountId));
    expect(line).toMatchObject({ audit: true, event, outcome: stored!.outcome });
    return stored!;
  }

  function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const processEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
      delete processEnv.NODE_OPTIONS;
      const child = spawn(process.execPath, [cli, ...args], { env: processEnv });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end();
    });
  }

  beforeAll(async () => {
    if (dialect === 'postgres') {
      const admin = knexFactory({ client: 'pg', connection: postgresUrl });
      await admin.raw(`create schema "${schema}"`);
      await admin.destroy();
      const u = new URL(postgresUrl!);
      u.searchParams.set('options', `-c search_path=${schema}`);
      databaseUrl = u.toString();
    } else {
      databaseUrl = `sqlite://${path.join(dir, 'audit.sqlite')}`;
    }
    smtp = await startSmtp();
    const port = await freePort();
    env = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      ISSUER: `http://127.0.0.1:${port}`,
      CLIENTS_FILE: eidClientsFile(),
      DATA_DIR: dir,
      DATABASE_URL: databaseUrl,
      SMTP_URL: smtp.url,
      MOCKS_ENABLED: 'true',
      LOG_LEVEL: 'info',
      SESSION_SWEEP_INTERVAL_SECONDS: '1',
    };
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        onLine();
        cb();
      },
    });
    const config = loadConfig(env);
    service = await createService({ config, logger: createLogger('info', sink), clock: { now: () => Date.now() + offset } });
    url = (await service.listen()).url;
    accountId = (await createLocalAccount(service.db, { now: () => Date.now() }, TEST_USER)).id;
  });
  afterAll(async () => {
    await service?.close();
    await smtp?.close();
    if (dialect === 'postgres') {
      const admin = knexFactory({ client: 'pg', connection: postgresUrl });
      await admin.raw(`drop schema if exists "${schema}" cascade`);
      await admin.destroy();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('login, consent, tokens by grant, refresh reuse and RP-initiated logout', async () => {
    // A confidential client with consent and a refresh token, then a refresh.
    const conf = await discover(url, 'conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const { tokens, browser } = await codeFlow(conf, url, { scope: 'openid email offline_access', prompt: 'consent' });
    const refreshed = await oidc.refreshTokenGrant(conf, tokens.refresh_token!);
    Object.assign(secrets, { accessToken: tokens.access_token, refreshToken: tokens.refresh_token!, idToken: tokens.id_token!, refreshedAccess: refreshed.access_token });

    await expectRecorded('login.password', { outcome: 'success', accountId, actor: `user:${accountId}`, clientId: 'conf' });
    const consent = await expectRecorded('consent.granted', { accountId, clientId: 'conf', actor: `user:${accountId}` });
    expect(consent.detail).toMatchObject({ scopes: expect.stringContaining('offline_access') });
    const issued = await rows('token.issued');
    expect(issued.filter((r) => r.clientId === 'conf').map((r) => r.detail?.grant_type)).toEqual(['refresh_token', 'authorization_code']);
    await expectRecorded('token.issued', { clientId: 'conf', accountId, actor: 'client:conf' });

    // client_credentials: a token with no account.
    const machine = await discover(url, 'machine', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    await oidc.clientCredentialsGrant(machine, { scope: 'openid' });
    expect((await rows('token.issued')).find((r) => r.clientId === 'machine')).toMatchObject({ actor: 'client:machine', accountId: undefined, detail: { grant_type: 'client_credentials' } });

    // A public client's refresh tokens rotate: presenting the spent one is reuse, and its grant goes.
    const pub = await discover(url, 'pub', oidc.None(), { token_endpoint_auth_method: 'none' });
    const first = (await codeFlow(pub, url, { scope: 'openid offline_access', prompt: 'consent' })).tokens.refresh_token!;
    const rotated = await oidc.refreshTokenGrant(pub, first);
    Object.assign(secrets, { pubRefresh: first, pubRotated: rotated.refresh_token! });
    await expect(oidc.refreshTokenGrant(pub, first)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expectRecorded('token.refresh_reuse', { outcome: 'failure', clientId: 'pub', accountId, actor: 'client:pub' });
    const revoked = await expectRecorded('consent.revoked', { clientId: 'pub', accountId });
    expect(revoked.detail).toMatchObject({ via: 'token' });

    // RP-initiated logout through the confirmation page.
    const endSession = oidc.buildEndSessionUrl(conf, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:8999/logged-out' });
    const confirm = await browser.go(endSession.toString());
    const after = await browser.submit(confirm, /session\/end\/confirm/, { logout: 'yes' });
    expect(after.url).toBe('http://127.0.0.1:8999/logged-out');
    await expectRecorded('logout.rp', { accountId, clientId: 'conf', actor: `user:${accountId}` });
  });

  test('an ID-porten login is recorded without the national identity number', async () => {
    const flow = await begin(url, 'udi', { acr_values: 'Level4' });
    const { claims, userinfo } = await redeem(flow, await atMock(flow, await chooseMethod(flow, flow.page, 'idporten'), { eid: 'bankid' }));
    // The relying party got the number; the audit trail (checked below) never has it.
    expect(userinfo.pid).toBe(KARI);
    await expectRecorded('login.idporten', { outcome: 'success', accountId: claims.sub, clientId: 'udi' });
  });

  test('a password reset records the password change', async () => {
    const email = `reset-${dialect}@example.no`;
    secrets.resetEmail = email;
    secrets.newPassword = 'Brand4Newpass';
    const account = await createLocalAccount(service.db, { now: () => Date.now() }, { email, name: 'Reset Person', password: 'Old-Password-1' });
    const login = await beginLogin({ service, url, config: loadConfig(env), logs: [], close: async () => undefined });
    const codePage = await requestCode(login, 'reset', email);
    const code = smtp.codeFor(email);
    secrets.code = code;
    const callback = await choosePassword(login, await enterCode(login, codePage, code), { password: secrets.newPassword });
    expect(callback.url.startsWith(RP)).toBe(true);
    const changed = await expectRecorded('password.changed', { accountId: account.id, actor: `user:${account.id}` });
    expect(changed.detail).toMatchObject({ via: 'reset' });
  });

  test('CLI: key rotation and a client added are recorded with actor cli', async () => {
    const rotate = await runCli(['keys', 'rotate']);
    expect(rotate).toMatchObject({ code: 0 });
    const kids = [...rotate.stdout.matchAll(/new \S+ key (\S+):/g)].map((m) => m[1]);
    expect(kids.length).toBeGreaterThan(0);
    const stderrAudit = rotate.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as AuditLine);
    expect(stderrAudit).toEqual(expect.arrayContaining([expect.objectContaining({ audit: true, event: 'key.rotated', actor: 'cli' })]));
    const rotated = (await rows('key.rotated')).map((r) => ({ actor: r.actor, kid: r.detail?.kid }));
    expect(rotated).toEqual(expect.arrayContaining(kids.map((kid) => ({ actor: 'cli', kid }))));

    const added = await runCli(['clients', 'add', '--id', 'new-rp', '--name', 'New RP', '--redirect-uri', 'https://rp.example.test/cb']);
    expect(added).toMatchObject({ code: 0 });
    const secret = /client_secret \(shown once\): (\S+)/.exec(added.stdout)?.[1];
    if (secret) secrets.newClientSecret = secret;
    expect((await rows('admin.client.created'))[0]).toMatchObject({ actor: 'cli', clientId: 'new-rp' });
  });

  test('a session that times out is recorded by the sweeper as logout.timeout', async () => {
    const pub = await discover(url, 'pub', oidc.None(), { token_endpoint_auth_method: 'none' });
    const { tokens } = await codeFlow(pub, url, {}, new Browser(url));
    expect(tokens.claims()!.sub).toBe(accountId);
    // Past the idle timeout (30 minutes) for our clock, which the session sweeper reads.
    offset = 2 * HOUR;
    const line = await logged((l) => l.event === 'logout.timeout' && l.accountId === accountId);
    expect(line).toMatchObject({ actor: 'system', outcome: 'success' });
    await expectRecorded('logout.timeout', { accountId, actor: 'system' });
  });

  test('no secret and no national identity number is stored or logged', async () => {
    await service.audit.settled();
    const stored: string[] = [];
    await exportAudit(service.db, {}, (l) => {
      stored.push(l);
    });
    const logged = auditLines().map((l) => JSON.stringify(l));
    expect(stored.length).toBeGreaterThan(10);
    // Every event the service stored was also logged by it (the CLI's went to the CLI's own stderr).
    const serviceEvents = stored.map((l) => JSON.parse(l) as AuditRecord & { time: string }).filter((e) => e.actor !== 'cli');
    const loggedKeys = new Set(auditLines().map((l) => `${String(l.at)} ${String(l.event)} ${String(l.actor)}`));
    expect(serviceEvents.filter((e) => !loggedKeys.has(`${e.time} ${e.event} ${e.actor}`))).toEqual([]);
    const leaks = Object.entries(secrets).flatMap(([name, value]) => [...stored, ...logged].filter((l) => l.includes(value)).map((l) => `${name}: ${l}`));
    expect(leaks).toEqual([]);
  });

  test('query filters, cursor pagination and the CLI export', async () => {
    await service.audit.settled();
    const all = await queryAudit(service.db, {}, { limit: 1000 });
    expect(all.nextCursor).toBeUndefined();
    // Pages of 3 walk the same events, newest first, without gaps or repeats.
    const walked: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 100; i += 1) {
      const page = await queryAudit(service.db, {}, { limit: 3, cursor });
      walked.push(...page.events.map((e) => e.id));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(walked).toEqual(all.events.map((e) => e.id));
    expect([...walked].sort((a, b) => b - a)).toEqual(walked);

    const byAccount = (await queryAudit(service.db, { accountId }, { limit: 1000 })).events;
    expect(byAccount.length).toBeGreaterThan(3);
    expect(byAccount.every((e) => e.accountId === accountId)).toBe(true);
    const byClient = (await queryAudit(service.db, { clientId: 'pub', event: 'token.*' }, { limit: 1000 })).events;
    expect(new Set(byClient.map((e) => e.event))).toEqual(new Set(['token.issued', 'token.refresh_reuse']));
    const failures = (await queryAudit(service.db, { outcome: 'failure' }, { limit: 1000 })).events;
    expect(failures.map((e) => e.event)).toContain('token.refresh_reuse');
    const middle = all.events[Math.floor(all.events.length / 2)]!.at;
    const since = (await queryAudit(service.db, { since: middle }, { limit: 1000 })).events;
    const until = (await queryAudit(service.db, { until: middle }, { limit: 1000 })).events;
    expect(since.length + until.length).toBe(all.events.length);
    expect(since.every((e) => e.at >= middle) && until.every((e) => e.at < middle)).toBe(true);
    await expect(queryAudit(service.db, {}, { cursor: 'bm9wZQ' })).rejects.toThrow(/cursor/);
    // The same through the service's audit log (what the admin API calls).
    expect((await service.audit.query({ event: 'logout.rp' })).events.map((e) => e.id)).toEqual((await rows('logout.rp')).map((e) => e.id));
    const viaLog: string[] = [];
    expect(await service.audit.export({ event: 'consent.*' }, (l) => void viaLog.push(l))).toBe(viaLog.length);
    expect(viaLog.length).toBeGreaterThan(1);

    const exported = await runCli(['audit', 'export', '--account', accountId, '--event', 'login.*', '--since', new Date(0).toISOString()]);
    expect(exported.code).toBe(0);
    const ndjson = exported.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    expect(ndjson.length).toBeGreaterThan(0);
    expect(ndjson.every((e) => e.accountId === accountId && e.event.startsWith('login.'))).toBe(true);
    expect(ndjson.map((e) => e.id)).toEqual([...ndjson.map((e) => e.id)].sort((a, b) => a - b));
    expect((await runCli(['audit', 'export', '--since', 'yesterday-ish'])).stderr).toContain('--since');
    expect((await rows('audit.exported'))[0]).toMatchObject({ actor: 'cli' });
  });
});
