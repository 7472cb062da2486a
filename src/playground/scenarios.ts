/**
 * Scenarios from our users: each a named request (one or two steps) with the outcome we expect. Rules:
 * - nothing is faked: a scenario only sets up real requests; the person clicks through the real pages
 *   and mocks (each step says what to click), and the outcome is read from the real response;
 * - expected and actual are shown side by side; a scenario matches only when every step did;
 * - a step that waits on time (the idle timeout) may be checked again until its outcome is the expected
 *   one; until then the page says "not yet", never a pass it did not see;
 * - what the playground cannot see (another party's page) is left to the person, and not in the verdict;
 * - numbers a step names (the idle timeout) come from the service's settings, handed in.
 */
import type { MessageId } from '../i18n/messages/en.js';
import type { MessageParams } from '../i18n/translate.js';
import { endNotice, type SessionPolicy } from '../policies/session.js';
import { PLAYGROUND_PUBLIC, PLAYGROUND_UDI } from './clients.js';
import { defaultSpec, type RequestSpec } from './request-spec.js';
import type { Observation } from './results.js';

export interface ScenarioStep {
  spec: RequestSpec;
  /** What the person must click, shown before the request opens. */
  instructionId: MessageId;
  instructionParams?: MessageParams;
  /** The step's button, when not "Run step n". */
  buttonId?: MessageId;
  /** The actual outcome also names the session (sid, auth_time). */
  showsSession?: boolean;
  /** A step checked again until its outcome is this one; meanwhile the page shows `notYetId`. */
  until?: { matches(observation: Observation): boolean; notYetId: MessageId };
  /** The person checks this step's outcome (this text on a page we cannot read): not part of the verdict. */
  checkedByPerson?: { id: MessageId; params: MessageParams };
}

export interface Scenario {
  id: string;
  titleId: MessageId;
  titleParams?: MessageParams;
  expectedId: MessageId;
  steps: ScenarioStep[];
  /** Whether the observations of every step are what we expect. */
  matches(observations: Observation[]): boolean;
}

const spec = (clientId: string, fields: Partial<RequestSpec>): RequestSpec => ({ ...defaultSpec(clientId), scope: ['openid', 'profile'], ...fields });
const udi = (acr: string) => spec(PLAYGROUND_UDI, { scope: ['openid', 'profile', 'pid'], acrValues: [acr], prompt: 'login' });

/** What the scenarios need from the service's settings. */
export interface ScenarioSettings {
  sessions: SessionPolicy;
}

/** "Inactive for …": log in, wait out the idle timeout, then prompt=none gets login_required. */
function inactive(sessions: SessionPolicy): Scenario {
  const seconds = sessions.idleTimeoutSeconds;
  const inMinutes = seconds % 60 === 0;
  const duration: MessageParams = inMinutes ? { minutes: seconds / 60 } : { seconds };
  // The note our login page shows for a session that ended idle, in the same words.
  const note = endNotice(sessions, 'idle');
  return {
    id: 'inactive',
    titleId: inMinutes ? 'playground.scenario.inactive.title_minutes' : 'playground.scenario.inactive.title_seconds',
    titleParams: duration,
    expectedId: 'playground.scenario.inactive.expected',
    steps: [
      { spec: spec(PLAYGROUND_PUBLIC, { prompt: 'login' }), instructionId: 'playground.scenario.inactive.step1', showsSession: true },
      {
        spec: spec(PLAYGROUND_PUBLIC, { prompt: 'none' }),
        instructionId: inMinutes ? 'playground.scenario.inactive.step2_minutes' : 'playground.scenario.inactive.step2_seconds',
        instructionParams: duration,
        buttonId: 'playground.scenario.inactive.check_now',
        until: { matches: (o) => o.error === 'login_required', notYetId: 'playground.scenario.inactive.not_yet' },
      },
      {
        spec: spec(PLAYGROUND_PUBLIC, {}),
        instructionId: 'playground.scenario.inactive.step3',
        buttonId: 'playground.scenario.inactive.open_login',
        checkedByPerson: note,
      },
    ],
    matches: ([a, b]) => typeof a?.sid === 'string' && b?.error === 'login_required',
  };
}

/** The scenarios, with the numbers they name taken from the service's settings. */
export function scenariosFor(settings: ScenarioSettings): Scenario[] {
  return [...SCENARIOS, inactive(settings.sessions)];
}

/** The step the person runs next: a step checked again while it is not yet as expected, else the next one. */
export function nextStep(scenario: Scenario, observations: Observation[]): number {
  const last = observations.length - 1;
  const until = scenario.steps[last]?.until;
  return until && !until.matches(observations[last]!) ? last : observations.length;
}

/** Whether the verdict can be given: every step it depends on has its outcome, and none waits for another check. */
export function isFinished(scenario: Scenario, observations: Observation[]): boolean {
  const next = nextStep(scenario, observations);
  return scenario.steps.every((s, i) => s.checkedByPerson || i < next);
}

const SCENARIOS: Scenario[] = [
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

export function scenarioById(scenarios: Scenario[], id: string): Scenario | undefined {
  return scenarios.find((s) => s.id === id);
}
