/**
 * The login page's choice of methods for one interaction. Rules: only methods the client offers that
 * can reach their effective floor are shown (plus those listed to explain a refusal); when none can log
 * in at all the relying party gets `unmet_authentication_requirements` — never a dead end. Which
 * methods exist comes from the registry (ic.methods); nothing here names one.
 */
import { clientPolicy, offeredMethods, requestDemand, type ClientPolicyMetadata, type OfferedMethod } from '../policies/client-policy.js';
import type { Context } from 'koa';
import type { PasswordMethod } from '../brokers/method.js';
import { BadRequestError } from '../errors.js';
import type { InteractionContext, InteractionRouteKit } from './interaction-context.js';
import { labelText } from './labels.js';

export interface MethodChoice {
  offered: OfferedMethod[];
  reachable: boolean;
  floorOf(method: string): OfferedMethod | undefined;
  /** The password method (e-mail accounts), when it is offered. */
  password: PasswordMethod | undefined;
}

export function methodChoice(ic: Pick<InteractionContext, 'client' | 'details' | 'methods'>): MethodChoice {
  const policy = clientPolicy((ic.client ?? {}) as ClientPolicyMetadata, ic.methods);
  const demand = requestDemand(ic.details.params as { acr_values?: unknown; claims?: unknown });
  const { offered, reachable } = offeredMethods(policy, demand, ic.methods);
  return {
    offered,
    reachable,
    floorOf: (method) => offered.find((o) => o.method === method),
    password: offered.map((o) => ic.methods.get(o.method)).find((m): m is PasswordMethod => m?.capability === 'password'),
  };
}

/**
 * The start of a method (POST /method/<id>): the interaction with its CSRF token checked, at the login
 * prompt, and the method offered at its floor. Undefined when another page was answered instead.
 */
export async function startMethod(kit: InteractionRouteKit, ctx: Context, id: string): Promise<{ ic: InteractionContext; offered: OfferedMethod } | undefined> {
  const ic = await kit.load(ctx);
  if (!ic) return undefined;
  kit.checkCsrf(ic);
  if (ic.details.prompt.name !== 'login') {
    ctx.redirect(`/interaction/${ic.uid}`);
    return undefined;
  }
  const offered = methodChoice(ic).floorOf(id);
  if (!offered) throw new BadRequestError(`login method ${id} is not offered for this request`);
  return { ic, offered };
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
  const brokerMethods = choice.offered.flatMap(({ method: id, floor }) => {
    const method = ic.methods.get(id);
    if (!method || method.capability === 'password') return [];
    return [{ method: id, label: labelText(method.displayName, ic.locale), hint: labelText(method.hint(floor), ic.locale) }];
  });
  ic.render('login.njk', {
    actionUrl: `/interaction/${ic.uid}/login`,
    abortUrl: `/interaction/${ic.uid}/abort`,
    methodUrl: `/interaction/${ic.uid}/method`,
    brokerMethods,
    localAllowed: choice.password !== undefined,
    ...vars,
  });
}
