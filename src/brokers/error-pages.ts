/**
 * Where each kind of failed upstream login leads, in one place (DESIGN §4: an honest page saying which
 * upstream failed and who can help, with a way back to the methods). Rules:
 * - the person's own cancel is no refusal and no outage: 200, "you cancelled", try again;
 * - a level too low is a refusal of ours (200), explained, never shown as an outage;
 * - anything the upstream got wrong (down, slow, invalid or stale answer) is 502 with the upstream's
 *   help line: who handles problems with it;
 * - a method overrides only what it says differently (ID-porten's level page, the foreign-eID page).
 */
import type { MessageId } from '../i18n/translate.js';
import type { BrokerErrorKind } from './types.js';
import type { ErrorPage, ErrorPages } from './method.js';

const VIEW = 'broker-error.njk';

/** The pages of a method whose help line is `helpId` (if it has one), with its own pages for some kinds. */
export function errorPages(helpId: MessageId | undefined, overrides: Partial<Record<BrokerErrorKind, ErrorPage>> = {}): ErrorPages {
  const help = helpId ? { helpId } : {};
  const outage = (messageId: MessageId): ErrorPage => ({ view: VIEW, status: 502, titleId: 'broker.unavailable.title', messageId, ...help, refusal: 'upstream_error' });
  return {
    cancelled: { view: VIEW, status: 200, titleId: 'broker.cancelled.title', messageId: 'broker.cancelled.message' },
    insufficient_level: { view: VIEW, status: 200, titleId: 'broker.level.title', messageId: 'broker.level.generic_message', refusal: 'level_too_low' },
    stale_authentication: { view: VIEW, status: 502, titleId: 'broker.stale.title', messageId: 'broker.stale.message', ...help, refusal: 'upstream_error' },
    timeout: outage('broker.timeout.message'),
    invalid_response: outage('broker.invalid.message'),
    upstream_error: outage('broker.unavailable.message'),
    refused: { view: VIEW, status: 200, titleId: 'broker.refused.title', messageId: 'broker.refused.message', refusal: 'upstream_error' },
    ...overrides,
  };
}
