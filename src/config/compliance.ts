/** What the law and the trust frameworks ask of us: how long audit events are kept, the Sweden Connect level we may claim. */
import { z } from 'zod';
import { bool, type EnvOf } from './fields.js';

export interface ComplianceConfig {
  /** What the law and the trust frameworks ask of us: audit retention, the Sweden Connect level we may claim. */
  compliance: {
    /** Audit events older than this are purged by the sweep (AUDIT_RETENTION_DAYS). */
    auditRetentionDays: number;
    /**
     * The operator declares this service a certified Sweden Connect identity provider; only then does a
     * BankID login carry `http://id.elegnamnden.se/loa/1.0/loa3`, else the self-declared `uncertified-loa3`.
     */
    bankidSwedenConnectCertified: boolean;
  };
}

export const complianceEnv = {
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(365),
  BANKID_SWEDEN_CONNECT_CERTIFIED: bool.default(false),
};

export function readCompliance(e: EnvOf<typeof complianceEnv>): ComplianceConfig {
  return { compliance: { auditRetentionDays: e.AUDIT_RETENTION_DAYS, bankidSwedenConnectCertified: e.BANKID_SWEDEN_CONNECT_CERTIFIED } };
}
