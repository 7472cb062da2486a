/**
 * `clients list|show|add|update|remove|rotate-secret`: the operator's offline access to the clients table,
 * through the same service functions as the admin API (src/admin/clients-service.ts), audited as the `cli`
 * actor. Rules: a secret is printed once, when it is created or rotated; metadata for update comes from a
 * JSON file or standard input, never from an argument that would hold a secret; changes reach every
 * running instance at their next client lookup, without a restart.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import { systemClock } from '../clock.js';
import type { Database } from '../store/db.js';
import { resolveKeyEncryptionKey } from '../store/secrets.js';
import { createAuditLog } from '../store/audit.js';
import { createClientStore } from '../store/clients.js';
import { createClientsService, type ClientsService } from '../admin/clients-service.js';
import { validateClientPolicy } from '../policies/client-policy.js';
import { knownMethodIds } from '../brokers/registry.js';

const CLI = { kind: 'cli' } as const;
const out = (line: string) => process.stdout.write(`${line}\n`);
const collect = (value: string, previous: string[]) => [...previous, value];

/** The clients service over an open database, as the CLI uses it (no provider at hand). */
export async function cliClientsService(db: Database, config: Config): Promise<ClientsService> {
  const { kek } = await resolveKeyEncryptionKey(db, systemClock, config.operations.keyEncryptionKey);
  const known = knownMethodIds(config.brokers);
  // Without a provider at hand, the login methods a client names are checked against the registry here.
  const validate = async (metadata: Record<string, unknown>) => {
    const problems = validateClientPolicy(metadata, known);
    if (problems.length) throw new Error(problems.join('; '));
  };
  return createClientsService({ store: createClientStore(db, systemClock, kek), audit: createAuditLog(db, systemClock), graceSeconds: config.admin.secretGraceSeconds, validate });
}

function readMetadata(file: string): unknown {
  const text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new Error(`${file === '-' ? 'standard input' : file} is not valid JSON (${(cause as Error).message})`, { cause });
  }
}

interface AddOptions {
  id?: string;
  name: string;
  redirectUri: string[];
  postLogoutRedirectUri: string[];
  grantType: string[];
  scope?: string;
  public: boolean;
  skipConsent: boolean;
  metadataFile?: string;
}

/** The metadata `clients add` builds from its options (a browser app by default, as before). */
export function metadataFromOptions(opts: AddOptions): Record<string, unknown> {
  if (opts.metadataFile) return readMetadata(opts.metadataFile) as Record<string, unknown>;
  const grants = opts.grantType.length ? opts.grantType : ['authorization_code', 'refresh_token'];
  return {
    client_name: opts.name,
    ...(opts.redirectUri.length || grants.includes('authorization_code') ? { redirect_uris: opts.redirectUri } : {}),
    ...(opts.postLogoutRedirectUri.length ? { post_logout_redirect_uris: opts.postLogoutRedirectUri } : {}),
    grant_types: grants,
    token_endpoint_auth_method: opts.public ? 'none' : 'client_secret_basic',
    scope: opts.scope ?? 'openid email profile offline_access',
    ...(opts.skipConsent ? { skip_consent: true } : {}),
  };
}

export function registerClientCommands(program: Command, config: Config, withDb: <T>(work: (db: Database) => Promise<T>) => Promise<T>): void {
  const clients = program.command('clients').description('clients in the database (every instance sees a change at once)');
  const withService = <T>(work: (s: ClientsService) => Promise<T>) => withDb(async (db) => work(await cliClientsService(db, config)));

  clients.command('list').action(async () => {
    for (const c of await withService((s) => s.list(CLI))) {
      out(`${c.client_id}\t${(c.token_endpoint_auth_method as string | undefined) ?? 'client_secret_basic'}\t${(c.client_name as string | undefined) ?? ''}\t${((c.redirect_uris as string[] | undefined) ?? []).join(' ')}\t${(c.scope as string | undefined) ?? ''}`);
    }
  });
  clients.command('show <client_id>').action(async (id: string) => {
    out(JSON.stringify(await withService((s) => s.get(id, CLI)), null, 2));
  });
  clients
    .command('add')
    .description('register a client; a confidential client\'s secret is printed once')
    .option('--id <client_id>', 'the client_id (default: generated)')
    .option('--name <client_name>', 'its display name', '')
    .option('--redirect-uri <uri>', 'a redirect URI (repeat for more)', collect, [])
    .option('--post-logout-redirect-uri <uri>', 'a post-logout redirect URI (repeat for more)', collect, [])
    .option('--grant-type <grant>', 'authorization_code, refresh_token or client_credentials (repeat; default the first two)', collect, [])
    .option('--scope <scopes>', 'space-separated scopes (nordlys:admin for an admin client)')
    .option('--public', 'a public client (PKCE, no secret)', false)
    .option('--skip-consent', 'a first-party client: no consent page', false)
    .option('--metadata-file <file>', 'take the whole RFC 7591 metadata from a JSON file (- for standard input) instead')
    .action(async (opts: AddOptions) => {
      const { client, client_secret } = await withService((s) => s.create(metadataFromOptions(opts), CLI, opts.id));
      out(`added client ${client.client_id}; running instances serve it at once`);
      if (client_secret) out(`client_secret (shown once): ${client_secret}`);
    });
  clients
    .command('update <client_id>')
    .description('replace a client\'s metadata with the JSON in --metadata-file (the whole client, without secrets)')
    .requiredOption('--metadata-file <file>', 'a JSON file, or - for standard input')
    .action(async (id: string, opts: { metadataFile: string }) => {
      const { client_secret } = await withService((s) => s.update(id, readMetadata(opts.metadataFile), CLI));
      out(`updated client ${id}`);
      if (client_secret) out(`client_secret (shown once): ${client_secret}`);
    });
  clients.command('remove <client_id>').action(async (id: string) => {
    await withService((s) => s.remove(id, CLI));
    out(`removed client ${id}`);
  });
  clients
    .command('rotate-secret <client_id>')
    .description(`issue a new secret; the old one keeps working for CLIENT_SECRET_GRACE_SECONDS (${config.admin.secretGraceSeconds} s)`)
    .action(async (id: string) => {
      const rotated = await withService((s) => s.rotateSecret(id, CLI));
      out(`client_secret (shown once): ${rotated.client_secret}`);
      out(`the previous secret works until ${new Date(rotated.previous_secret_expires_at * 1000).toISOString()}`);
    });
}
