/**
 * What every page under /interaction/:uid works with: the loaded interaction (`InteractionContext`) and
 * the kit a module uses to add its own routes there. Types only, so the router and the modules that add
 * routes or pages (consent, password login, brokers, local accounts) all import this and not each other.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Locale } from '../i18n/locales.js';
import type { MethodRegistry } from '../brokers/registry.js';

export type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export interface InteractionContext {
  ctx: Context;
  provider: Provider;
  /** The client's metadata, including our policy fields; undefined if it vanished from the config. */
  client: Record<string, unknown> | undefined;
  details: Details;
  /** The client the login is for, as the request named it. */
  clientId: string;
  /** The login methods this service has. */
  methods: MethodRegistry;
  locale: Locale;
  uid: string;
  csrfToken: string;
  clientName: string;
  render(view: string, vars: Record<string, unknown>): void;
  /** Ends the interaction with `result` and redirects the browser on. */
  finish(result: Record<string, unknown>): Promise<void>;
  /** Ends the interaction with `result` and returns where the browser goes on (for a script's JSON). */
  finishUrl(result: Record<string, unknown>): Promise<string>;
}

/** What a module that adds routes under /interaction/:uid (brokers, registration …) gets to work with. */
export interface InteractionRouteKit {
  load(ctx: Context): Promise<InteractionContext | undefined>;
  checkCsrf(ic: InteractionContext): void;
  formBody: (ctx: Context, next: () => Promise<unknown>) => Promise<unknown>;
  /** Called when the person leaves whatever method they were in: back at the method list, another method, abort. */
  onLeave(listener: (ic: InteractionContext) => Promise<void>): void;
  /** Tells every onLeave listener that the person left (a method's routes call it when another method starts). */
  left(ic: InteractionContext): Promise<void>;
}

export type InteractionRoutes = (router: Router, kit: InteractionRouteKit) => void;
