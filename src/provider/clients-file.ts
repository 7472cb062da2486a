/**
 * The clients file: a JSON document `{ "clients": [ ...OIDC client metadata... ] }`, an import only: at
 * start-up its clients are loaded into the database (src/store/clients.ts), which is what the provider serves.
 * Rules: validated at start-up (a bad file stops the service with a message naming the field, e.g.
 * `clients[1].redirect_uris[0]`); unknown fields are refused (a typo must not silently weaken a client);
 * confidential clients need a strong secret; redirect URIs are absolute, without fragments, and matched
 * exactly by oidc-provider; the example clients shipped in config/clients.json carry `"example": true`
 * (their secrets are public) and production refuses them, one line per client, whatever the file's path.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { validateClientPolicy } from '../policies/client-policy.js';
import { clientSchema, formatPath, withProtocolDefaults, type ClientMetadata } from '../policies/client-metadata.js';

// The metadata rules live in policies (the admin API validates with them too); the file is read here.
export { clientSchema, formatPath, withProtocolDefaults, type ClientMetadata };


const fileSchema = z
  .object({ clients: z.array(clientSchema) })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.clients.forEach((c, i) => {
      if (seen.has(c.client_id)) ctx.addIssue({ code: 'custom', path: ['clients', i, 'client_id'], message: `duplicate client_id ${c.client_id}` });
      seen.add(c.client_id);
    });
  });

export class ClientsFileError extends Error {
  constructor(file: string, problems: string[]) {
    super(`Invalid clients file ${file}:\n - ${problems.join('\n - ')}`);
    this.name = 'ClientsFileError';
  }
}


/**
 * Validates a parsed clients document; throws ClientsFileError naming each bad field. With
 * `knownMethods` (the registry's method ids) every login method a client names must be one of them.
 */
export function parseClients(document: unknown, file = 'clients file', knownMethods?: readonly string[]): ClientMetadata[] {
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) {
    throw new ClientsFileError(file, parsed.error.issues.map((i) => `${formatPath(i.path) || 'document'}: ${i.message}`));
  }
  const unknown = knownMethods ? parsed.data.clients.flatMap((c, i) => validateClientPolicy(c, knownMethods).map((p) => `clients[${i}].${p}`)) : [];
  if (unknown.length) throw new ClientsFileError(file, unknown);
  return parsed.data.clients.map(withProtocolDefaults);
}


/** One line per example client: production must not run them. */
export function exampleClientProblems(clients: ClientMetadata[]): string[] {
  return clients.flatMap((c, i) =>
    c.example
      ? [`clients[${i}] (${c.client_id}) is an example client, whose secret and redirect URIs are public: production refuses it; remove it from CLIENTS_FILE and register your own clients (cli: clients add)`]
      : [],
  );
}

export function readClientsFile(file: string, options: { refuseExamples?: boolean; knownMethods?: readonly string[] } = {}): ClientMetadata[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ClientsFileError(file, [`cannot be read (${(cause as Error).message})`]);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new ClientsFileError(file, [`is not valid JSON (${(cause as Error).message})`]);
  }
  const clients = parseClients(document, file, options.knownMethods);
  const examples = options.refuseExamples ? exampleClientProblems(clients) : [];
  if (examples.length) throw new ClientsFileError(file, examples);
  return clients;
}

/** Writes the file atomically (write a sibling, then rename), after validating the new content (for tools that keep an import file). */
export function writeClientsFile(file: string, clients: ClientMetadata[]): void {
  parseClients({ clients }, file);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ clients }, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
