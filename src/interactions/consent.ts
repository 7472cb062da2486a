/**
 * The consent prompt. Rules:
 * - the page lists what the client asks for that the user has not yet granted;
 * - "Allow" records exactly those scopes and claims in a Grant (oidc-provider's grant model);
 * - a first-party client (`skip_consent`) is granted without a page: the user has nothing to decide;
 * - every grant is written to the audit trail (consent.granted) with the scopes and claims it added.
 */
import type { InteractionContext } from './interaction-context.js';
import { LOGIN_CLAIMS, consentLabelId } from '../policies/claims.js';
import { AUDIT_EVENTS, type AuditLog } from '../store/audit.js';
import { requestIp } from './request-ip.js';

interface ConsentDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

const HIDDEN_CLAIMS = new Set<string>(LOGIN_CLAIMS);

export function createConsent(audit: AuditLog) {
  async function grant(ic: InteractionContext): Promise<void> {
    const { details } = ic;
    const d = details.prompt.details as ConsentDetails;
    const Grant = ic.provider.Grant;
    const grant = details.grantId
      ? await Grant.find(details.grantId)
      : new Grant({ accountId: details.session!.accountId, clientId: ic.clientId });
    if (!grant) throw new Error('grant vanished during consent');
    if (d.missingOIDCScope?.length) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims?.length) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await audit.record({
      event: AUDIT_EVENTS.consentGranted,
      outcome: 'success',
      accountId: grant.accountId,
      clientId: grant.clientId,
      ip: requestIp(ic.ctx),
      requestId: String(ic.ctx.state.requestId ?? ''),
      detail: { grantId, scopes: (d.missingOIDCScope ?? []).join(' '), claims: (d.missingOIDCClaims ?? []).join(' ') },
    });
    await ic.finish({ consent: { grantId } });
  }

  return {
    async show(ic: InteractionContext): Promise<void> {
      const client = await ic.provider.Client.find(String((ic.details.params as Record<string, unknown>).client_id));
      if ((client as unknown as { skip_consent?: boolean } | undefined)?.skip_consent) return grant(ic);
      const d = ic.details.prompt.details as ConsentDetails;
      ic.render('consent.njk', {
        actionUrl: `/interaction/${ic.uid}/consent`,
        abortUrl: `/interaction/${ic.uid}/abort`,
        scopes: (d.missingOIDCScope ?? []).map((name) => ({ name, labelId: consentLabelId('scope', name) })),
        claims: (d.missingOIDCClaims ?? []).filter((c) => !HIDDEN_CLAIMS.has(c)).map((name) => ({ name, labelId: consentLabelId('claim', name) })),
      });
    },
    submit: grant,
  };
}
