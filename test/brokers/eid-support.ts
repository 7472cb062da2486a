/** Shared by the eID login tests: clients with login policies, and steps through our pages and the mock's. */
import * as oidc from 'openid-client';
import { Browser, type Page } from '../support/browser.js';
import { CONFIDENTIAL_SECRET, RP, testClients, writeClientsFile } from '../support/service.js';
import { insecure } from '../support/rp.js';
import type { ClientMetadata } from '../../src/provider/clients-file.js';

export const KARI = '14038541286'; // the mock's synthetic ordinary fødselsnummer
export const OLA = '02867913311'; // a Tenor test number

const eidClient = (client_id: string, extra: Partial<ClientMetadata>): ClientMetadata => ({
  client_id,
  client_secret: CONFIDENTIAL_SECRET,
  redirect_uris: [RP],
  scope: 'openid profile email pid',
  skip_consent: true,
  ...extra,
});

export const eidClients: ClientMetadata[] = [
  ...testClients,
  eidClient('udi', { login_methods: ['local', 'idporten'], method_min_acr: { idporten: 'high' }, acr_vocabulary: 'legacy-upper', release_national_id: true }),
  eidClient('eid-only', { login_methods: ['idporten'] }),
  eidClient('foreign', { login_methods: ['local', 'idporten', 'foreign-eid'] }),
  eidClient('strict', { login_methods: ['local', 'idporten'], min_acr: 'substantial', acr_vocabulary: 'idporten' }),
  eidClient('se', {
    login_methods: ['local', 'bankid-se', 'idporten', 'foreign-eid'],
    release_national_id: true,
    scope: 'openid profile pid https://id.oidc.se/scope/naturalPersonNumber',
  }),
];

export const eidClientsFile = () => writeClientsFile(eidClients);

export interface Flow {
  config: oidc.Configuration;
  browser: Browser;
  verifier: string;
  state: string;
  page: Page;
}

/** Starts an authorization request for `clientId` and returns our login page. */
export async function begin(issuer: string, clientId: string, params: Record<string, string> = {}, browser = new Browser(issuer)): Promise<Flow> {
  const config = await oidc.discovery(new URL(issuer), clientId, {}, oidc.ClientSecretBasic(CONFIDENTIAL_SECRET), insecure);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP,
    scope: 'openid profile pid',
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  });
  return { config, browser, verifier, state, page: await browser.go(url.toString()) };
}

/** Presses a method's button on our login page. */
export function chooseMethod(flow: Flow, page: Page, method: string): Promise<Page> {
  return flow.browser.submit(page, new RegExp(`/method/${method}$`), {});
}

/** The form on the ID-porten mock's tester page, mounted in the service or on its own port. */
export const MOCK_LOGIN_FORM = /\/mock\/idporten\/interaction\/[^/]+\/login$/;
export const STANDALONE_MOCK_LOGIN_FORM = /^\/interaction\/[^/]+\/login$/;

/** Fills the ID-porten mock's tester page. */
export function atMock(flow: Flow, page: Page, fields: { person?: string; eid?: string; action?: string; misbehaviour?: string }, form = MOCK_LOGIN_FORM): Promise<Page> {
  return flow.browser.submit(page, form, { person: KARI, eid: 'bankid', action: 'login', ...fields });
}

export function logInLocally(flow: Flow, page: Page, email: string, password: string): Promise<Page> {
  return flow.browser.submit(page, /\/login$/, { email, password });
}

/** Redeems the code at the RP's end and returns the tokens and userinfo. */
export async function redeem(flow: Flow, page: Page) {
  if (!page.url.startsWith(RP)) throw new Error(`did not reach the RP: ${page.status} ${page.url}\n${page.html.slice(0, 2000)}`);
  const tokens = await oidc.authorizationCodeGrant(flow.config, new URL(page.url), { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
  const claims = tokens.claims()!;
  const userinfo = await oidc.fetchUserInfo(flow.config, tokens.access_token, claims.sub);
  return { claims, userinfo };
}

export function rpError(page: Page): Record<string, string> {
  if (!page.url.startsWith(RP)) throw new Error(`did not reach the RP: ${page.status} ${page.url}\n${page.html.slice(0, 1500)}`);
  return Object.fromEntries(new URL(page.url).searchParams);
}
