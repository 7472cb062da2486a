/**
 * Requests we make to relying parties: the SSRF allow-list of private hosts (each bad entry named) and
 * the back-channel logout outbox's timeout, retry back-off and polling interval.
 */
import { z } from 'zod';
import { parseOutboundAllowList } from '../policies/outbound-hosts.js';
import type { EnvOf } from './fields.js';

/** Requests we make to relying parties: the SSRF allow-list and the back-channel logout outbox. */
export interface OutboundSettings {
  /** ALLOW_PRIVATE_OUTBOUND_HOSTS as written: host names, addresses and CIDR ranges of the operator's own RPs. */
  allowPrivateHosts: string[];
  backchannel: { timeoutMs: number; retryBaseSeconds: number; retryMaxSeconds: number; intervalSeconds: number };
}

export interface OutboundConfig {
  outbound: OutboundSettings;
}

export const outboundEnv = {
  ALLOW_PRIVATE_OUTBOUND_HOSTS: z
    .string()
    .transform((s) => s.split(',').map((e) => e.trim()).filter(Boolean))
    .superRefine((entries, ctx) => {
      for (const problem of parseOutboundAllowList(entries).problems) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  BACKCHANNEL_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(5000),
  BACKCHANNEL_RETRY_BASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  BACKCHANNEL_RETRY_MAX_SECONDS: z.coerce.number().int().min(1).max(24 * 3600).default(600),
  BACKCHANNEL_OUTBOX_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
};

export function readOutbound(e: EnvOf<typeof outboundEnv>): OutboundConfig {
  return {
    outbound: {
      allowPrivateHosts: e.ALLOW_PRIVATE_OUTBOUND_HOSTS ?? [],
      backchannel: {
        timeoutMs: e.BACKCHANNEL_TIMEOUT_MS,
        retryBaseSeconds: e.BACKCHANNEL_RETRY_BASE_SECONDS,
        retryMaxSeconds: e.BACKCHANNEL_RETRY_MAX_SECONDS,
        intervalSeconds: e.BACKCHANNEL_OUTBOX_INTERVAL_SECONDS,
      },
    },
  };
}
