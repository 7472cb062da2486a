/** The built-in login methods' facts as the policies see them (test/brokers/registry.test.ts checks the registry says the same). */
import type { MethodCatalogue } from '../../src/policies/client-policy.js';

export const BUILT_IN: MethodCatalogue = {
  known: ['local', 'idporten', 'bankid-se', 'foreign-eid'],
  methods: [
    { id: 'local', reachable: ['low'], offeredByDefault: true },
    { id: 'idporten', reachable: ['substantial', 'high'] },
    { id: 'bankid-se', reachable: ['substantial'] },
    { id: 'foreign-eid', reachable: [], listedWhenUnreachable: true },
  ],
};
