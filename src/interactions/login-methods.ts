/**
 * The login page's choice of methods for one interaction. Rules: only methods the client offers that
 * can reach their effective floor are shown (plus the foreign-eID explanation when offered); when none
 * can log in at all the relying party gets `unmet_authentication_requirements` — never a dead end.
 */
import { clientPolicy, offeredMethods, requestDemand, type ClientPolicyMetadata, type LoginMethod, type OfferedMethod } from '../policies/client-policy.js';
import type { InteractionContext } from './interaction-context.js';

export interface MethodChoice {
  offered: OfferedMethod[];
  reachable: boolean;
  floorOf(method: LoginMethod): OfferedMethod | undefined;
}

export function methodChoice(ic: Pick<InteractionContext, 'client' | 'details'>): MethodChoice {
  const policy = clientPolicy((ic.client ?? {}) as ClientPolicyMetadata);
  const demand = requestDemand(ic.details.params as { acr_values?: unknown; claims?: unknown });
  const { offered, reachable } = offeredMethods(policy, demand);
  return { offered, reachable, floorOf: (method) => offered.find((o) => o.method === method) };
}

/** The hint under a method's button, which depends on the level it must reach. */
export function methodHint(m: OfferedMethod): string {
  if (m.method === 'idporten') return m.floor === 'high' ? 'method.idporten.hint_high' : 'method.idporten.hint_substantial';
  return `method.${m.method}.hint`;
}

export async function showLoginPage(ic: InteractionContext, vars: Record<string, unknown> = {}): Promise<void> {
  const choice = methodChoice(ic);
  if (!choice.reachable) {
    await ic.finish({
      error: 'unmet_authentication_requirements',
      error_description: 'no login method this client allows can reach the requested level of assurance',
    });
    return;
  }
  const brokerMethods = choice.offered.filter((m) => m.method !== 'local').map((m) => ({ method: m.method, hintId: methodHint(m) }));
  ic.render('login.njk', {
    actionUrl: `/interaction/${ic.uid}/login`,
    abortUrl: `/interaction/${ic.uid}/abort`,
    methodUrl: `/interaction/${ic.uid}/method`,
    brokerMethods,
    localAllowed: choice.floorOf('local') !== undefined,
    ...vars,
  });
}
