/**
 * Back-channel logout beyond oidc-provider's fire-and-forget: a logout token reaches an allow-listed
 * loopback relying party, is retried with back-off after a 500, survives a restart while the relying party
 * is down, and is given up once it has expired. A relying party on a private address that is not allowed
 * gets nothing, and the log says why. Each attempt is claimed by one instance only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { dialects, createTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';
import { startService, writeClientsFile, testClients, RP, CONFIDENTIAL_SECRET, type RunningService } from '../support/service.js';
import { TEST_USER, discover, codeFlow } from '../support/rp.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { ManualClock } from '../support/manual-clock.js';
import { createBackchannelOutbox } from '../../src/store/backchannel-outbox.js';

interface Receiver {
  url: string;
  tokens: string[];
  /** Statuses to answer, in order; 204 once they run out. */
  answers: number[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const tokens: string[] = [];
  const answers: number[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      tokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(answers.shift() ?? 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel`,
    tokens,
    answers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const json = (logs: string[]) => logs.map((l) => JSON.parse(l) as Record<string, unknown>);

describe.each(dialects)('back-channel logout outbox on %s', (dialect) => {
  let db: TestDatabase;
  let receiver: Receiver;
  let clientsFile: string;
  const clock = new ManualClock(Date.now());
  const quiet = { BACKCHANNEL_OUTBOX_INTERVAL_SECONDS: '3600', BACKCHANNEL_RETRY_BASE_SECONDS: '10' };

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    receiver = await startReceiver();
    clientsFile = writeClientsFile([
      ...testClients,
      {
        client_id: 'bcl',
        client_secret: CONFIDENTIAL_SECRET,
        redirect_uris: [RP],
        post_logout_redirect_uris: ['http://127.0.0.1:8999/logged-out'],
        backchannel_logout_uri: receiver.url,
        backchannel_logout_session_required: true,
        scope: 'openid',
        skip_consent: true,
      },
    ]);
    await createLocalAccount(db, clock, TEST_USER);
  });
  afterAll(async () => {
    await receiver.close();
    await db.close();
  });

  async function loginAndLogout(server: RunningService): Promise<{ sub: string; sid: string }> {
    const config = await discover(server.url, 'bcl', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const { tokens, browser } = await codeFlow(config, server.url, { scope: 'openid' });
    const end = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:8999/logged-out' });
    const confirm = await browser.go(end.toString());
    const done = await browser.submit(confirm, /session\/end\/confirm/, { logout: 'yes' });
    expect(done.url).toBe('http://127.0.0.1:8999/logged-out');
    const claims = tokens.claims()!;
    return { sub: claims.sub, sid: String(claims.sid) };
  }

  const pending = () => createBackchannelOutbox(db, clock).pendingCount();

  test('reaches an allow-listed loopback relying party, and retries after a 500 with back-off', async () => {
    const server = await startService({ db, clock, clientsFile, env: { ALLOW_PRIVATE_OUTBOUND_HOSTS: '127.0.0.1', ...quiet } });
    try {
      receiver.tokens.length = 0;
      receiver.answers.push(500);
      const { sub, sid } = await loginAndLogout(server);
      // The first attempt was made during the logout and failed; the token waits in the outbox.
      expect(receiver.tokens).toHaveLength(1);
      expect(await pending()).toBe(1);
      const failure = json(server.logs).find((l) => l.msg === 'back-channel logout failed; will retry');
      expect(failure).toMatchObject({ clientId: 'bcl', attempt: 1, cause: 'HTTP 500', retryInSeconds: 10 });
      expect(server.logs.join('\n')).not.toContain(receiver.tokens[0]);

      // Not due yet: nothing is sent. Ten seconds later the retry delivers the same token.
      expect(await server.service.deliverBackchannelLogouts()).toBe(0);
      clock.advance(10_000);
      expect(await server.service.deliverBackchannelLogouts()).toBe(1);
      expect(receiver.tokens).toHaveLength(2);
      expect(receiver.tokens[1]).toBe(receiver.tokens[0]);
      expect(await pending()).toBe(0);
      const { payload } = await jwtVerify(receiver.tokens[1]!, createRemoteJWKSet(new URL(`${server.url}/jwks`)), { issuer: server.url, audience: 'bcl' });
      expect(payload).toMatchObject({ sub, sid, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });
      expect(json(server.logs).some((l) => l.msg === 'back-channel logout delivered' && l.attempt === 2)).toBe(true);
    } finally {
      await server.close();
    }
  });

  test('a logout owed to a relying party that is down survives a restart and is delivered afterwards', async () => {
    const first = await startService({ db, clock, clientsFile, env: { ALLOW_PRIVATE_OUTBOUND_HOSTS: '127.0.0.1', ...quiet } });
    receiver.tokens.length = 0;
    receiver.answers.push(503);
    try {
      await loginAndLogout(first);
    } finally {
      await first.close();
    }
    expect(receiver.tokens).toHaveLength(1);
    expect(await pending()).toBe(1);

    const second = await startService({ db, clock, clientsFile, env: { ALLOW_PRIVATE_OUTBOUND_HOSTS: '127.0.0.1', ...quiet } });
    try {
      clock.advance(10_000);
      expect(await second.service.deliverBackchannelLogouts()).toBe(1);
      expect(receiver.tokens).toHaveLength(2);
      expect(await pending()).toBe(0);
    } finally {
      await second.close();
    }
  });
  test('a relying party on loopback that is not allowed gets nothing, and the log names the cause', async () => {
    const server = await startService({ db, clock, clientsFile, env: quiet });
    try {
      receiver.tokens.length = 0;
      await loginAndLogout(server);
      expect(receiver.tokens).toHaveLength(0);
      const failure = json(server.logs).find((l) => l.msg === 'back-channel logout failed; will retry');
      expect(String(failure?.cause)).toMatch(/resolves to the special-use address 127\.0\.0\.1; add it to ALLOW_PRIVATE_OUTBOUND_HOSTS/);
      // Refused on every retry, the token is given up once it has expired (it is the last test: the clock jumps).
      clock.advance(24 * 3600_000);
      await server.service.deliverBackchannelLogouts();
      expect(json(server.logs).some((l) => l.msg === 'back-channel logout failed; the logout token expires before another attempt, giving up')).toBe(true);
      expect(await pending()).toBe(0);
    } finally {
      await server.close();
    }
  });

});

(postgresUrl ? describe : describe.skip)('the outbox under two instances on postgres', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await db.close();
  });

  test('every due row is claimed by exactly one of two instances claiming at once', async () => {
    const clock = new ManualClock(Date.now());
    const twin = db.openTwin();
    try {
      const a = createBackchannelOutbox(db, clock);
      const b = createBackchannelOutbox(twin, clock);
      for (let i = 0; i < 40; i += 1) {
        await a.enqueueClaimed({ clientId: 'c', url: 'https://rp.example/bcl', logoutToken: `t${i}`, expiresAt: clock.now() + 3600_000 }, clock.now());
      }
      const lease = clock.now() + 60_000;
      const claimed: string[] = [];
      for (let round = 0; round < 10 && claimed.length < 40; round += 1) {
        const rounds = await Promise.all([a.claimDue(15, lease), b.claimDue(15, lease), a.claimDue(15, lease), b.claimDue(15, lease)]);
        claimed.push(...rounds.flat().map((e) => e.logoutToken));
      }
      // Each row went to exactly one claimer: all forty, none twice.
      expect(claimed).toHaveLength(40);
      expect(new Set(claimed).size).toBe(40);
    } finally {
      await twin.close();
    }
  });
});
