/**
 * Outgoing requests to relying parties: SSRF-guarded, and back-channel logouts through a persistent
 * outbox. Rule: our own issuer's origin is always allowed (the built-in playground is a relying party
 * there); any other private host only when ALLOW_PRIVATE_OUTBOUND_HOSTS names it.
 */
import type { Config } from '../config/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import type { Metrics } from '../observability/metrics.js';
import { parseOutboundAllowList } from '../policies/outbound-hosts.js';
import { createBackchannelOutbox } from '../store/backchannel-outbox.js';
import { createBackchannelDelivery, type BackchannelDelivery } from '../outbound/backchannel-delivery.js';
import { createProviderFetch } from '../outbound/provider-fetch.js';

export function wireOutbound(config: Config, db: Database, clock: Clock, logger: Logger, count: Metrics['backchannel']): {
  backchannel: BackchannelDelivery;
  providerFetch: ReturnType<typeof createProviderFetch>;
} {
  const allowList = parseOutboundAllowList(config.outbound.allowPrivateHosts, [new URL(config.issuer).origin]).list;
  if (allowList.entries.length) logger.info({ allowPrivateOutboundHosts: allowList.entries }, 'outgoing requests may reach these private hosts');
  const backchannel = createBackchannelDelivery({ outbox: createBackchannelOutbox(db, clock), allowList, settings: config.outbound.backchannel, clock, logger, count });
  return { backchannel, providerFetch: createProviderFetch({ backchannel, allowList, logger }) };
}
