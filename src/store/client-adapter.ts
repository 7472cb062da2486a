/**
 * oidc-provider's documented way to dynamic clients: the adapter's `Client` model. Rules: `find` answers
 * from the client store it is given (decrypted secret included): the composition root hands in the cache
 * of the clients table (client-cache.ts), which sees a change at once where a client authenticates and
 * within seconds elsewhere; the provider never writes clients (dynamic registration is off), so `upsert`
 * and `destroy` on this model are refused rather than silently written to the payloads table.
 */
import type { AdapterPayload, OidcAdapterClass } from './oidc-adapter.js';
import type { ClientStore } from './clients.js';

export function withClientModel(Base: OidcAdapterClass, clients: Pick<ClientStore, 'providerMetadata'> | undefined): OidcAdapterClass {
  if (!clients) return Base;
  return class ClientBackedAdapter extends Base {
    private readonly clientModel: boolean;
    constructor(model: string) {
      super(model);
      this.clientModel = model === 'Client';
    }
    override async find(id: string): Promise<AdapterPayload | undefined> {
      return this.clientModel ? clients.providerMetadata(id) : super.find(id);
    }
    override async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      if (this.clientModel) throw new Error('clients are written through the admin API or the CLI, not by the provider');
      return super.upsert(id, payload, expiresIn);
    }
    override async destroy(id: string): Promise<void> {
      if (this.clientModel) throw new Error('clients are removed through the admin API or the CLI, not by the provider');
      return super.destroy(id);
    }
  };
}
