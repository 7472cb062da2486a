/**
 * The variables each playground page is drawn from. Pure. Rules:
 * - every acr value in discovery is offered, grouped by vocabulary, with the level it means;
 * - the follow-up requests (step up, prompt=none, prompt=login) are the same request with one change;
 *   step up asks for the next level above the one reached, in the vocabulary the provider answered in.
 */
import type { ServerMetadata } from 'openid-client';
import { formatAcr, lookupAcr, RANKS, rankValue } from '../policies/loa.js';
import { supportedLocales } from '../i18n/locales.js';
import { PLAYGROUND_CONFIDENTIAL } from './clients.js';
import { PROMPTS, type RequestSpec } from './request-spec.js';
import { errorMeaning, explainClaims, type Observation, type RunResult } from './results.js';
import type { PreparedRequest } from './runs.js';
import { isFinished, nextStep, type Scenario } from './scenarios.js';

interface ClientRef {
  client_id: string;
  client_name?: string | undefined;
}

export function builderView(input: {
  metadata: ServerMetadata;
  spec: RequestSpec;
  clients: ClientRef[];
  builtIn: ClientRef[];
  scenarios: Scenario[];
  prepared?: PreparedRequest | undefined;
  invalid?: string[] | undefined;
}) {
  const { metadata, spec } = input;
  const groups = new Map<string, Array<{ value: string; rank: string; checked: boolean; essential: boolean }>>();
  for (const value of (metadata.acr_values_supported as string[] | undefined) ?? []) {
    const known = lookupAcr(value);
    const group = known?.vocabulary ?? 'other';
    groups.set(group, [...(groups.get(group) ?? []), { value, rank: known?.rank ?? 'unknown', checked: spec.acrValues.includes(value), essential: spec.essentialAcr === value }]);
  }
  return {
    spec,
    issuer: metadata.issuer,
    clients: input.clients.map((c) => ({
      id: c.client_id,
      name: c.client_name ?? c.client_id,
      builtIn: input.builtIn.some((b) => b.client_id === c.client_id),
      selected: c.client_id === spec.clientId,
    })),
    scopes: (metadata.scopes_supported ?? []).map((value, i) => ({ value, id: `scope-${i}`, checked: spec.scope.includes(value) })),
    acrGroups: [...groups].map(([vocabulary, values], g) => ({ vocabulary, values: values.map((v, i) => ({ ...v, id: `acr-${g}-${i}` })) })),
    acrAll: [...groups.values()].flat(),
    prompts: PROMPTS.map((value) => ({ value, selected: value === spec.prompt })),
    locales: ['', ...supportedLocales].map((value) => ({ value, selected: value === spec.uiLocales })),
    prepared: input.prepared,
    invalid: input.invalid ?? [],
    scenarios: input.scenarios.map((s) => ({ id: s.id, titleId: s.titleId, titleParams: s.titleParams ?? {} })),
  };
}

function followUps(result: RunResult): Record<'step-up' | 'prompt-none' | 'prompt-login', RequestSpec | undefined> {
  const base: RequestSpec = { ...result.spec, prompt: '' };
  const acr = result.idToken?.claims.acr;
  const reached = typeof acr === 'string' ? lookupAcr(acr) : undefined;
  const higher = reached ? RANKS[rankValue(reached.rank) + 1] : undefined;
  return {
    'step-up': reached && higher ? { ...base, acrValues: [formatAcr(higher, reached.vocabulary)], essentialAcr: '' } : undefined,
    'prompt-none': { ...base, prompt: 'none' },
    'prompt-login': { ...base, prompt: 'login' },
  };
}

export function resultView(result: RunResult, clients: ClientRef[]) {
  const subjectType = result.spec.clientId === PLAYGROUND_CONFIDENTIAL ? 'pairwise' : 'public';
  const jwt = (d: RunResult['idToken']) =>
    d ? { header: JSON.stringify(d.header, null, 2), claims: explainClaims(d.claims, result.spec, subjectType), signature: d.signature } : undefined;
  const next = followUps(result);
  return {
    result,
    clientName: clients.find((c) => c.client_id === result.spec.clientId)?.client_name ?? result.spec.clientId,
    responseParams: Object.entries(result.response),
    problem: result.problem,
    problemMeaning: result.problem ? errorMeaning(result.problem.error) : undefined,
    idToken: jwt(result.idToken),
    accessToken: jwt(result.accessTokenDecoded),
    accessTokenOpaque: Boolean(result.tokens?.accessToken && !result.accessTokenDecoded),
    actions: [...result.actions].reverse().map((a) => ({
      ...a,
      meaning: a.problem && !a.problem.error.startsWith('playground.') ? errorMeaning(a.problem.error) : undefined,
    })),
    followUps: next,
    stepUpTo: next['step-up']?.acrValues[0],
    hasTokens: Boolean(result.tokens?.accessToken),
    hasRefresh: Boolean(result.tokens?.refreshToken),
    canIntrospect: result.spec.clientId === PLAYGROUND_CONFIDENTIAL,
    canLogout: Boolean(result.tokens?.idToken),
  };
}

function summarise(o: Observation, showsSession: boolean): string {
  if (o.error) return `error=${o.error}`;
  const session = showsSession ? [`sid=${o.sid ?? '–'}`, `auth_time=${o.authTime === undefined ? '–' : new Date(o.authTime * 1000).toISOString()}`] : [];
  return [`acr=${o.acr ?? '–'}`, `amr=${(o.amr ?? []).join(' ') || '–'}`, `sub=${o.sub ?? '–'}`, `pid=${o.pidReleased ? '✓' : '–'}`, ...session].join(', ');
}

export function scenarioView(scenario: Scenario, observations: Observation[] | undefined, last: RunResult | undefined) {
  const done = observations ?? [];
  const finished = observations !== undefined && isFinished(scenario, done);
  const next = nextStep(scenario, done);
  return {
    scenario: { ...scenario, titleParams: scenario.titleParams ?? {} },
    started: observations !== undefined,
    steps: scenario.steps.map((s, i) => {
      const observed = done[i];
      return {
        n: i + 1,
        instructionId: s.instructionId,
        instructionParams: s.instructionParams ?? {},
        buttonId: s.buttonId,
        checkedByPerson: s.checkedByPerson,
        actual: observed ? summarise(observed, Boolean(s.showsSession)) : undefined,
        notYetId: observed && s.until && !s.until.matches(observed) ? s.until.notYetId : undefined,
        current: observations !== undefined && i === next,
      };
    }),
    finished,
    matches: finished ? scenario.matches(done) : undefined,
    hasResult: Boolean(last?.scenario?.id === scenario.id),
  };
}
