/**
 * Metrics of what we send, on each dialect: a back-channel logout that fails once and is delivered on
 * retry counts one `retry` and one `delivered`; a mail the relay refuses counts `failed`, and a
 * registration whose code could not be mailed is not counted as started.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, writeClientsFile, testClients, RP, CONFIDENTIAL_SECRET, freePort, type RunningService } from '../support/service.js';
import { TEST_USER, discover, codeFlow } from '../support/rp.js';
import { beginLogin, requestCode } from '../support/local-accounts.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { ManualClock } from '../support/manual-clock.js';
import { parseExposition, samplesOf } from './exposition.js';

const TOKEN = 'metrics-token-0123456789abcdef0123456789';

describe.each(dialects)('metrics of outgoing deliveries on %s', (dialect) => {
  let db: TestDatabase;
  let receiver: http.Server;
  let receiverUrl: string;
  const answers: number[] = [];
  const clock = new ManualClock(Date.now());
  const servers: RunningService[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(answers.shift() ?? 204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/backchannel`;
    await createLocalAccount(db, clock, TEST_USER);
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await new Promise((resolve) => receiver.close(resolve));
    await db.close();
  });

  const scrape = async (server: RunningService) => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    return parseExposition(await res.text());
  };

  test('a back-channel logout: one failed attempt to retry, then delivered', async () => {
    const clientsFile = writeClientsFile([
      ...testClients,
      {
        client_id: 'bcl',
        client_secret: CONFIDENTIAL_SECRET,
        redirect_uris: [RP],
        post_logout_redirect_uris: ['http://127.0.0.1:8999/logged-out'],
        backchannel_logout_uri: receiverUrl,
        backchannel_logout_session_required: true,
        scope: 'openid',
        skip_consent: true,
      },
    ]);
    const env = { ALLOW_PRIVATE_OUTBOUND_HOSTS: '127.0.0.1', BACKCHANNEL_OUTBOX_INTERVAL_SECONDS: '3600', BACKCHANNEL_RETRY_BASE_SECONDS: '10', METRICS_TOKEN: TOKEN };
    const server = await startService({ db, clock, clientsFile, env });
    servers.push(server);
    answers.push(500);
    const config = await discover(server.url, 'bcl', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const { tokens, browser } = await codeFlow(config, server.url, { scope: 'openid' });
    const end = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:8999/logged-out' });
    await browser.submit(await browser.go(end.toString()), /session\/end\/confirm/, { logout: 'yes' });
    expect(samplesOf(await scrape(server), 'nordlys_backchannel_logout_deliveries_total')).toEqual([{ labels: { outcome: 'retry' }, value: 1 }]);

    clock.advance(10_000);
    expect(await server.service.deliverBackchannelLogouts()).toBe(1);
    expect(samplesOf(await scrape(server), 'nordlys_backchannel_logout_deliveries_total')).toEqual([
      { labels: { outcome: 'retry' }, value: 1 },
      { labels: { outcome: 'delivered' }, value: 1 },
    ]);
  });

  test('a mail the relay does not take is counted as failed; the registration did not start', async () => {
    // Nobody listens on this port: the SMTP connection is refused at once.
    const server = await startService({ db, clock, env: { SMTP_URL: `smtp://127.0.0.1:${await freePort()}`, METRICS_TOKEN: TOKEN } });
    servers.push(server);
    const login = await beginLogin(server);
    expect((await requestCode(login, 'register', 'new.person@example.no')).status).toBe(503);
    const samples = await scrape(server);
    expect(samplesOf(samples, 'nordlys_mails_total')).toEqual([{ labels: { outcome: 'failed' }, value: 1 }]);
    expect(samplesOf(samples, 'nordlys_local_account_flows_total')).toEqual([]);
  });
});
