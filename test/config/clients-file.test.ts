/** The clients file: every mistake is reported with the field that holds it, and start-up stops on it. */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { parseClients, readClientsFile, writeClientsFile as writeFileAtomically, ClientsFileError } from '../../src/provider/clients-file.js';
import { appRoot } from '../../src/app-root.js';
import { createTestDatabase } from '../support/databases.js';
import { startService, writeClientsFile } from '../support/service.js';

const good = { client_id: 'a', client_secret: 'x'.repeat(32), redirect_uris: ['https://rp.example/cb'] };
const messageOf = (doc: unknown): string => {
  try {
    parseClients(doc);
  } catch (err) {
    if (err instanceof ClientsFileError) return err.message;
    throw err;
  }
  return '';
};

describe('clients file', () => {
  test('the shipped development clients file is valid', () => {
    const clients = readClientsFile(path.join(appRoot(), 'config/clients.json'));
    expect(clients.map((c) => c.client_id)).toEqual(expect.arrayContaining(['dev-confidential', 'dev-public']));
  });

  test.each([
    [{ clients: [{ ...good, redirect_uris: ['not a url'] }] }, 'clients[0].redirect_uris[0]: must be an absolute URL'],
    [{ clients: [{ ...good, redirect_uris: ['https://rp.example/cb#frag'] }] }, 'clients[0].redirect_uris[0]: must not contain a fragment'],
    [{ clients: [good, { ...good, client_secret: 'short' }] }, 'clients[1].client_secret: must be at least 32 characters'],
    [{ clients: [{ ...good, redirect_uri: 'https://typo' }] }, 'clients[0]: Unrecognized key: "redirect_uri"'],
    [{ clients: [{ client_id: 'p', token_endpoint_auth_method: 'none', client_secret: 'x'.repeat(32), redirect_uris: ['https://rp/cb'] }] }, 'clients[0].client_secret: must not be set for a public client'],
    [{ clients: [{ client_id: 'c', redirect_uris: ['https://rp/cb'] }] }, 'clients[0].client_secret: is required for token_endpoint_auth_method client_secret_basic'],
    [{ clients: [good, good] }, 'clients[1].client_id: duplicate client_id a'],
    [{ clients: [{ ...good, redirect_uris: [] }] }, 'clients[0].redirect_uris: must list at least one redirect URI'],
  ])('%j is refused naming the field', (doc, expected) => {
    expect(messageOf(doc)).toContain(expected);
  });

  test('start-up stops on a bad clients file and names the field', async () => {
    const db = await createTestDatabase('sqlite');
    try {
      const file = writeClientsFile([{ ...good, grant_types: ['authorization_code'], redirect_uris: ['ftp//broken'] }]);
      await expect(startService({ db, clientsFile: file })).rejects.toThrow(/clients\[0\]\.redirect_uris\[0\]: must be an absolute URL/);
      fs.writeFileSync(file, '{ not json');
      await expect(startService({ db, clientsFile: file })).rejects.toThrow(/is not valid JSON/);
    } finally {
      await db.close();
    }
  });

  describe('the shipped example clients', () => {
    const shipped = path.join(appRoot(), 'config/clients.json');
    const refusal = (file: string): string => {
      try {
        readClientsFile(file, { refuseExamples: true });
      } catch (err) {
        if (err instanceof ClientsFileError) return err.message;
        throw err;
      }
      return '';
    };

    test('every client in config/clients.json is marked as an example', () => {
      const clients = readClientsFile(shipped);
      expect(clients.length).toBeGreaterThan(0);
      expect(clients.filter((c) => c.example !== true).map((c) => c.client_id)).toEqual([]);
    });

    test('refused by their marker, one line per client, wherever the file is copied to', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-examples-'));
      try {
        const copy = path.join(dir, 'production-clients.json');
        fs.copyFileSync(shipped, copy);
        const lines = refusal(copy).split('\n');
        expect(lines[0]).toBe(`Invalid clients file ${copy}:`);
        const ids = readClientsFile(shipped).map((c) => c.client_id);
        expect(lines.slice(1)).toEqual(
          ids.map((id, i) => ` - clients[${i}] (${id}) is an example client, whose secret and redirect URIs are public: production refuses it; remove it from CLIENTS_FILE and register your own clients (cli: clients add)`),
        );
        // An operator's own clients (no marker) in the same file are not refused; the marker survives a rewrite.
        writeFileAtomically(copy, [...readClientsFile(copy), good]);
        expect(refusal(copy).split('\n')).toHaveLength(ids.length + 1);
        writeFileAtomically(copy, [good]);
        expect(readClientsFile(copy, { refuseExamples: true }).map((c) => c.client_id)).toEqual(['a']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('the marker is true or absent', () => {
      expect(messageOf({ clients: [{ ...good, example: false }] })).toContain('clients[0].example: must be true (or left out)');
    });
  });
});
