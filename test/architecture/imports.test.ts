/**
 * The import rules of DESIGN.md §1 hold over the real tree (src/ and mocks/), read with the TypeScript
 * compiler API (rules.ts, import-graph.ts). Each failure lists every offending import by file and line.
 * A small synthetic tree proves that each rule notices what it is meant to notice.
 */
import { appRoot } from '../../src/app-root.js';
import { readTree, type SourceTree } from './import-graph.js';
import { checkRules } from './rules.js';

const results = checkRules(readTree(appRoot(), ['src', 'mocks']));

describe('the import rules of DESIGN.md §1', () => {
  test('nothing in src/brokers imports store, interactions, http or the mocks', () => {
    expect(results.brokers).toEqual([]);
  });

  test('the mocks import nothing of the product', () => {
    expect(results.mocks).toEqual([]);
  });

  test('src/policies imports nothing of ours but types', () => {
    expect(results.policies).toEqual([]);
  });

  test('src/provider does not import src/interactions', () => {
    expect(results.provider).toEqual([]);
  });

  test('src/http does not import src/interactions', () => {
    expect(results.http).toEqual([]);
  });

  test('src/admin imports neither src/provider nor src/interactions', () => {
    expect(results.admin).toEqual([]);
  });

  test('there are no import cycles', () => {
    expect(results.cycles).toEqual([]);
  });

  test('no prototype is assigned in src/ or the mocks (oidc-provider is reached through its documented hooks)', () => {
    expect(results.prototypes).toEqual([]);
  });
});

describe('the rules notice a violation', () => {
  const tree: SourceTree = new Map([
    ['src/brokers/acme/broker.ts', "import { db } from '../../store/db.js';\nimport { mock } from '../../../mocks/acme/index.js';\nexport const broker = { db, mock };"],
    ['src/store/db.ts', 'export const db = 1;'],
    ['mocks/acme/index.ts', "import { csrf } from '../../src/interactions/csrf.js';\nimport { own } from './own.js';\nexport const mock = { csrf, own };"],
    ['mocks/acme/own.ts', 'export const own = 1;'],
    ['src/interactions/csrf.ts', "import type { Page } from './router.js';\nexport const csrf = (p: Page) => p;"],
    ['src/interactions/router.ts', "import { csrf } from './csrf.js';\nimport { consent } from './consent.js';\nexport type Page = string;\nexport const route = [csrf, consent];"],
    ['src/interactions/consent.ts', "import type { Page } from './router.js';\nexport const consent = (p: Page) => p;"],
    ['src/policies/rule.ts', "import type { Page } from '../interactions/router.js';\nimport { type Clock } from '../clock.js';\nimport { other } from './other.js';\nexport const rule = (p: Page, c: Clock) => [p, c, other];"],
    ['src/policies/other.ts', 'export const other = 1;'],
    ['src/clock.ts', 'export type Clock = number;'],
    ['src/provider/pages.ts', "export type { Page } from '../interactions/router.js';"],
    ['src/http/app.ts', "const lazy = () => import('../interactions/router.js');\nexport default lazy;"],
    ['src/admin/routes.ts', "import { route } from '../interactions/router.js';\nexport const admin = route;"],
    ['src/provider/patch.ts', [
      "import Provider from 'oidc-provider';",
      'const proto = Provider.prototype as unknown as { x: unknown };',
      'proto.x = 1;',
      'Object.defineProperty(Provider.prototype, "y", { get: () => 2 });',
      "// Provider.prototype.z = 3 (a comment is not an assignment)",
      'Provider.prototype["w"] = 4;',
      'export const ok = Object.prototype.hasOwnProperty.call({}, "a");',
    ].join('\n')],
  ]);
  const found = checkRules(tree);

  test('each rule names the offending import', () => {
    expect(found.brokers).toEqual([
      "src/brokers/acme/broker.ts:1 imports '../../store/db.js' (src/store/db.ts): src/brokers must not import src/store",
      "src/brokers/acme/broker.ts:2 imports '../../../mocks/acme/index.js' (mocks/acme/index.ts): src/brokers must not import the mocks",
    ]);
    expect(found.mocks).toEqual([
      "mocks/acme/index.ts:1 imports '../../src/interactions/csrf.js' (src/interactions/csrf.ts): a mock is the outside world: it imports nothing of the product",
    ]);
    // `import { type Clock }` still loads the module under verbatimModuleSyntax: only `import type` is a type.
    expect(found.policies).toEqual([
      "src/policies/rule.ts:2 imports '../clock.js' (src/clock.ts): src/policies imports nothing of ours but types (write `import type`)",
    ]);
    expect(found.provider).toEqual([
      "src/provider/pages.ts:1 imports '../interactions/router.js' (src/interactions/router.ts): src/provider must not import src/interactions",
    ]);
    expect(found.http).toEqual([
      "src/http/app.ts:1 imports '../interactions/router.js' (src/interactions/router.ts): src/http must not import src/interactions",
    ]);
    expect(found.admin).toEqual([
      "src/admin/routes.ts:1 imports '../interactions/router.js' (src/interactions/router.ts): src/admin must not import src/interactions (it is handed what it needs)",
    ]);
    // Type-only imports count: router ↔ consent is a cycle; csrf is caught in the same knot.
    expect(found.cycles).toEqual([
      'import cycle: src/interactions/consent.ts → src/interactions/router.ts → src/interactions/consent.ts (the same knot also holds src/interactions/csrf.ts)',
    ]);
    expect(found.prototypes).toEqual([
      'src/provider/patch.ts:3 assigns to a prototype: proto.x = 1',
      'src/provider/patch.ts:4 assigns to a prototype: Object.defineProperty(Provider.prototype, "y", { get: () => 2 })',
      'src/provider/patch.ts:6 assigns to a prototype: Provider.prototype["w"] = 4',
    ]);
  });
});
