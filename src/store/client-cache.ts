/**
 * The clients as the provider's lookups see them, cached in this process (issue 13: a login read its
 * client ten times), kept honest by the clients' change counter (client-versions.ts). Rules:
 * - a client not in the cache is read from the database, so a client created on another instance (or by
 *   the CLI) works at its first request here; an unknown client id is never cached;
 * - a request at which a client authenticates (`confirmFor` names it: the token, introspection,
 *   revocation … endpoints) confirms the cache against the version first, once per request: one
 *   primary-key read instead of reading the client, so a client deleted or re-keyed on another instance
 *   is refused there at once, deterministically, like before the cache; requests confirming at the same
 *   moment share one such read, always one sent after they asked (coalesced-read.ts);
 * - every other lookup (authorization, our pages, userinfo) trusts the cache, which is dropped when the
 *   version moves: at once for a write on this instance, on PostgreSQL when its NOTIFY arrives (a few
 *   milliseconds), and by a version poll every POLL_SECONDS as the safety net (lost notifications,
 *   SQLite, the CLI writing from another process) — "every instance sees a change within seconds";
 * - a client read while the cache was being dropped is not kept (a generation count), so a read that
 *   raced a change can never outlive it;
 * - the cache holds what the table holds (secrets still sealed); what the provider gets is built by the
 *   store (providerMetadataOf) from the cached record: the metadata with the current secret once per
 *   record, the previous secret in its grace period per lookup, on the clock of that lookup.
 */
import type { Logger } from '../logger.js';
import type { Database } from './db.js';
import type { ClientStore, ProviderRecord } from './clients.js';
import { clientsChannel, currentSchema, readClientsVersion } from './client-versions.js';
import { coalescedRead } from './coalesced-read.js';

export const POLL_SECONDS = 5;
/** How long to wait before listening again after the notification connection dropped. */
const RELISTEN_MS = 1000;

export interface ClientCache extends Pick<ClientStore, 'providerMetadata'> {
  /** Listens for changes (PostgreSQL) and polls the version; returns the stopper. */
  start(logger: Logger): { stop(): Promise<void> };
}

export function createClientCache(deps: {
  db: Database;
  store: Pick<ClientStore, 'providerRecord' | 'providerMetadataOf' | 'onChange'>;
  /** The request being served when the lookup must be confirmed against the version (a client authenticates there). */
  confirmFor: () => object | undefined;
}): ClientCache {
  const { db, store } = deps;
  const records = new Map<string, ProviderRecord>();
  let generation = 0;
  /** The version the cache is known to be current for; undefined before the first read. */
  let version: number | undefined;
  const confirmed = new WeakSet<object>();

  const drop = (seen?: number) => {
    records.clear();
    generation += 1;
    version = seen;
  };
  /** Called with the version read or notified: the cache is dropped when it moved. */
  const observe = (seen: number) => {
    if (seen !== version) drop(seen);
  };
  store.onChange(() => drop());

  // Requests that confirm at the same moment share one read of the counter, each sent after its caller
  // asked (coalesced-read.ts): a change committed before a request began is still always seen.
  const readVersion = coalescedRead(() => readClientsVersion(db.knex));
  async function confirm(): Promise<void> {
    observe(await readVersion());
  }

  async function record(clientId: string): Promise<ProviderRecord | undefined> {
    const cached = records.get(clientId);
    if (cached) return cached;
    const at = generation;
    const read = await store.providerRecord(clientId);
    if (read && at === generation) records.set(clientId, read);
    return read;
  }

  return {
    async providerMetadata(clientId, provesPrevious) {
      const request = deps.confirmFor();
      if (request && !confirmed.has(request)) {
        await confirm();
        confirmed.add(request);
      }
      const found = await record(clientId);
      return found ? store.providerMetadataOf(found, provesPrevious) : undefined;
    },

    start(logger) {
      let stopped = false;
      let subscription: { close(): Promise<void> } | undefined;
      let relisten: NodeJS.Timeout | undefined;
      const listen = async () => {
        if (!db.listen || stopped) return;
        try {
          const opened = await db.listen(
            clientsChannel(await currentSchema(db.knex)),
            (payload) => {
              const notified = Number(payload);
              if (Number.isFinite(notified)) observe(notified);
              else drop();
            },
            () => {
              // Whatever was notified while nobody listened is unknown: start again from the table.
              subscription = undefined;
              drop();
              if (!stopped && !relisten) relisten = retry(RELISTEN_MS);
            },
          );
          if (stopped) await opened.close();
          else subscription = opened;
          // Changes made before the LISTEN took effect were not notified: the poll below or this read catches them.
          await confirm();
        } catch (err) {
          logger.warn({ err }, 'listening for client changes failed; the version poll still runs');
          if (!stopped && !relisten) relisten = retry(RELISTEN_MS * 5);
        }
      };
      const retry = (ms: number) => {
        const timer = setTimeout(() => {
          relisten = undefined;
          void listen();
        }, ms);
        timer.unref();
        return timer;
      };
      void listen();
      const poll = setInterval(() => {
        confirm().catch((err: unknown) => logger.warn({ err }, 'client version poll failed'));
      }, POLL_SECONDS * 1000);
      poll.unref();
      return {
        async stop() {
          stopped = true;
          clearInterval(poll);
          if (relisten) clearTimeout(relisten);
          await subscription?.close().catch(() => undefined);
        },
      };
    },
  };
}
