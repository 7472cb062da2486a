/**
 * Scenarios from our users: each a named request (one or two steps) with the outcome we expect. Rules:
 * - nothing is faked: a scenario only sets up real requests; the person clicks through the real pages
 *   and mocks (each step says what to click), and the outcome is read from the real response;
 * - expected and actual are shown side by side; a scenario matches only when every step did.
 */
import type { MessageId } from '../i18n/messages/en.js';
import { PLAYGROUND_PUBLIC, PLAYGROUND_UDI } from './clients.js';
import { defaultSpec, type RequestSpec } from './request-spec.js';
import type { Observation } from './results.js';

export interface ScenarioStep {
  spec: RequestSpec;
  /** What the person must click, shown before the request opens. */
  instructionId: MessageId;
}

export interface Scenario {
  id: string;
  titleId: MessageId;
  expectedId: MessageId;
  steps: ScenarioStep[];
  /** Whether the observations of every step are what we expect. */
  matches(observations: Observation[]): boolean;
}

const spec = (clientId: string, fields: Partial<RequestSpec>): RequestSpec => ({ ...defaultSpec(clientId), scope: ['openid', 'profile'], ...fields });
const udi = (acr: string) => spec(PLAYGROUND_UDI, { scope: ['openid', 'profile', 'pid'], acrValues: [acr], prompt: 'login' });

export const SCENARIOS: Scenario[] = [
  {
    id: 'udi-minid-refused',
    titleId: 'playground.scenario.udi-minid-refused.title',
    expectedId: 'playground.scenario.udi-minid-refused.expected',
    steps: [{ spec: udi('Level4'), instructionId: 'playground.scenario.udi-minid-refused.step1' }],
    matches: ([o]) => o?.error === 'access_denied',
  },
  {
    id: 'udi-bankid-level4',
    titleId: 'playground.scenario.udi-bankid-level4.title',
    expectedId: 'playground.scenario.udi-bankid-level4.expected',
    steps: [{ spec: udi('Level4'), instructionId: 'playground.scenario.udi-bankid-level4.step1' }],
    matches: ([o]) => o?.acr === 'Level4' && o.pidReleased,
  },
  {
    id: 'two-accounts',
    titleId: 'playground.scenario.two-accounts.title',
    expectedId: 'playground.scenario.two-accounts.expected',
    steps: [
      { spec: spec(PLAYGROUND_PUBLIC, { prompt: 'login' }), instructionId: 'playground.scenario.two-accounts.step1' },
      { spec: spec(PLAYGROUND_PUBLIC, { prompt: 'login', acrValues: ['substantial'] }), instructionId: 'playground.scenario.two-accounts.step2' },
    ],
    matches: ([a, b]) => Boolean(a?.sub && b?.sub && a.sub !== b.sub && a.amr?.includes('pwd') && !b.amr?.includes('pwd')),
  },
  {
    id: 'step-up',
    titleId: 'playground.scenario.step-up.title',
    expectedId: 'playground.scenario.step-up.expected',
    steps: [
      { spec: spec(PLAYGROUND_PUBLIC, { acrValues: ['substantial'] }), instructionId: 'playground.scenario.step-up.step1' },
      { spec: spec(PLAYGROUND_PUBLIC, { acrValues: ['high'] }), instructionId: 'playground.scenario.step-up.step2' },
    ],
    matches: ([a, b]) => a?.acr === 'substantial' && b?.acr === 'high' && a.sub !== undefined && a.sub === b.sub,
  },
  {
    id: 'bankid-se-cancel',
    titleId: 'playground.scenario.bankid-se-cancel.title',
    expectedId: 'playground.scenario.bankid-se-cancel.expected',
    steps: [{ spec: spec(PLAYGROUND_PUBLIC, { prompt: 'login' }), instructionId: 'playground.scenario.bankid-se-cancel.step1' }],
    matches: ([o]) => o?.error === 'access_denied',
  },
  {
    id: 'foreign-eid',
    titleId: 'playground.scenario.foreign-eid.title',
    expectedId: 'playground.scenario.foreign-eid.expected',
    steps: [{ spec: spec(PLAYGROUND_PUBLIC, { prompt: 'login' }), instructionId: 'playground.scenario.foreign-eid.step1' }],
    matches: ([o]) => o?.error === 'access_denied',
  },
];

export function scenarioById(id: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.id === id);
}
