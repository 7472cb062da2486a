/**
 * Protocol features beyond the basic flow: signed request objects (JAR), the claims parameter,
 * back-channel logout to the RP, and what discovery advertises.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { exportJWK, generateKeyPair, createRemoteJWKSet, jwtVerify } from 'jose';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, writeClientsFile, testClients, CONFIDENTIAL_SECRET, RP, type RunningService } from '../support/service.js';
import { codeFlow, discover, TEST_USER } from '../support/rp.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';

describe.each(dialects)('protocol features on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;
  let rpKeys: Awaited<ReturnType<typeof generateKeyPair>>;
  let receiver: http.Server;
  const logoutTokens: string[] = [];
  let notifyLogout: (() => void) | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    rpKeys = await generateKeyPair('ES256', { extractable: true });
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const token = new URLSearchParams(body).get('logout_token');
        if (token) logoutTokens.push(token);
        res.writeHead(200).end();
        notifyLogout?.();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const backchannelUri = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/backchannel`;
    const clientsFile = writeClientsFile([
      ...testClients,
      {
        client_id: 'jar',
        client_secret: CONFIDENTIAL_SECRET,
        redirect_uris: [RP],
        post_logout_redirect_uris: ['http://127.0.0.1:8999/logged-out'],
        request_object_signing_alg: 'ES256',
        jwks: { keys: [{ ...(await exportJWK(rpKeys.publicKey)), alg: 'ES256', use: 'sig' }] },
        backchannel_logout_uri: backchannelUri,
        backchannel_logout_session_required: true,
        scope: 'openid email profile',
        skip_consent: true,
      },
    ]);
    // The receiver is on loopback: the operator allows it, as for their own internal relying party.
    server = await startService({ db, clientsFile, env: { ALLOW_PRIVATE_OUTBOUND_HOSTS: '127.0.0.1' } });
    await createLocalAccount(db, systemClock, TEST_USER);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  test('discovery advertises what we support', async () => {
    const meta = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      issuer: server.url,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
      authorization_response_iss_parameter_supported: true,
      claims_parameter_supported: true,
      request_parameter_supported: true,
      backchannel_logout_supported: true,
    });
    expect(meta.subject_types_supported).toEqual(expect.arrayContaining(['public', 'pairwise']));
    expect(meta.pushed_authorization_request_endpoint).toBe(`${server.url}/request`);
    expect(meta.introspection_endpoint).toBe(`${server.url}/token/introspection`);
    expect(meta.revocation_endpoint).toBe(`${server.url}/token/revocation`);
    expect(meta.dpop_signing_alg_values_supported).toBeDefined();
    expect(meta.acr_values_supported).toEqual(expect.arrayContaining(['low', 'substantial', 'high', 'level3', 'Level3', 'level4', 'Level4', 'idporten-loa-substantial', 'idporten-loa-high']));
  });

  test('a signed request object is honoured, a tampered one refused', async () => {
    const config = await discover(server.url, 'jar', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = await oidc.buildAuthorizationUrlWithJAR(
      config,
      { redirect_uri: RP, scope: 'openid email', state, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' },
      rpKeys.privateKey,
    );
    expect(url.searchParams.get('request')).toBeTruthy();
    const { Browser } = await import('../support/browser.js');
    const browser = new Browser(server.url);
    let page = await browser.go(url.toString());
    page = await browser.submit(page, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password });
    expect(page.url.startsWith(RP)).toBe(true);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url), { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()!.sub).toBeDefined();

    const forged = new URL(url);
    const parts = forged.searchParams.get('request')!.split('.');
    forged.searchParams.set('request', `${parts[0]}.${Buffer.from(JSON.stringify({ client_id: 'jar', redirect_uri: RP, scope: 'openid', response_type: 'code' })).toString('base64url')}.${parts[2]}`);
    const refused = await new Browser(server.url).go(forged.toString());
    expect(refused.url.startsWith(RP) || refused.status === 400).toBe(true);
    if (refused.url.startsWith(RP)) expect(new URL(refused.url).searchParams.get('error')).toBe('invalid_request_object');
  });

  test('the claims parameter releases a claim into the id_token', async () => {
    const config = await discover(server.url, 'conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const { tokens } = await codeFlow(config, server.url, {
      scope: 'openid',
      claims: JSON.stringify({ id_token: { email: { essential: true } } }),
    });
    expect(tokens.claims()).toMatchObject({ email: TEST_USER.email });
  });

  test('RP-initiated logout sends a verifiable logout token over the back channel', async () => {
    const config = await discover(server.url, 'jar', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const { tokens, browser } = await codeFlow(config, server.url, { scope: 'openid' });
    const received = new Promise<void>((resolve) => (notifyLogout = resolve));
    const end = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:8999/logged-out' });
    const confirm = await browser.go(end.toString());
    const done = await browser.submit(confirm, /session\/end\/confirm/, { logout: 'yes' });
    expect(done.url).toBe('http://127.0.0.1:8999/logged-out');
    await received;
    const token = logoutTokens.at(-1)!;
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${server.url}/jwks`)), { issuer: server.url, audience: 'jar' });
    expect(payload.sub).toBe(tokens.claims()!.sub);
    expect(payload.sid).toBe(tokens.claims()!.sid);
    expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
  });
});
