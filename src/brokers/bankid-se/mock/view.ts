/** The simulated BankID app's pages: views/mock/bankid, drawn by the shared mock page renderer. */
import { createMockPages, mockViewsDir, type MockView } from '../../mock-view.js';
import { MOCK_MESSAGES } from './messages.js';

export type { MockView };

export function createMockView(viewsDir = mockViewsDir('bankid')): MockView {
  return createMockPages(viewsDir, MOCK_MESSAGES);
}
