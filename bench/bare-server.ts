/**
 * The bare library the suite compares against: oidc-provider from our own node_modules, with its
 * in-memory adapter and its development login pages, started as its own process (bench/bare-fixture.ts)
 * so it is measured as the product is. It is configured like ours where that changes the work of an
 * endpoint: one RS256 and one ES256 signing key, the same client (client_secret_basic, the code,
 * client-credentials and refresh grants), userinfo, introspection and revocation limited to the
 * client's own tokens, refresh tokens for clients allowed the grant, the same token lifetimes. No
 * koa app around it: requests go straight to provider.callback().
 * `node dist/bench/bare-server.js` with BARE_PORT, BARE_CLIENT_ID, BARE_CLIENT_SECRET, BARE_REDIRECT_URI;
 * prints one JSON line `{"listening": url}` once it listens; SIGTERM ends it.
 */
import http from 'node:http';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

const HOUR = 3600;

async function signingKey(alg: 'RS256' | 'ES256') {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), alg, use: 'sig', kid: `${alg.toLowerCase()}-bare` };
}

async function main(): Promise<void> {
  const port = Number(process.env.BARE_PORT ?? 0);
  const issuer = `http://127.0.0.1:${port}`;
  const configuration: Configuration = {
    clients: [
      {
        client_id: process.env.BARE_CLIENT_ID ?? 'bench',
        client_secret: process.env.BARE_CLIENT_SECRET ?? 'bench-secret-0123456789abcdef0123456789',
        redirect_uris: [process.env.BARE_REDIRECT_URI ?? 'http://127.0.0.1:9/callback'],
        grant_types: ['authorization_code', 'client_credentials', 'refresh_token'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'openid email profile',
      },
    ],
    jwks: { keys: [await signingKey('RS256'), await signingKey('ES256')] } as Configuration['jwks'],
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, email: `${sub}@example.no`, email_verified: true, name: 'Bench Mark' }),
    }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
    },
    ttl: {
      AccessToken: HOUR,
      AuthorizationCode: 60,
      ClientCredentials: HOUR,
      IdToken: HOUR,
      Interaction: HOUR,
      Session: 12 * HOUR,
      Grant: 14 * 24 * HOUR,
      RefreshToken: 14 * 24 * HOUR,
    },
  };
  const provider = new Provider(issuer, configuration);
  const server = http.createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  process.stdout.write(`${JSON.stringify({ listening: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
  process.once('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bare oidc-provider failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
