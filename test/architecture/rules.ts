/**
 * The import rules of DESIGN.md §1, each a function from the import graph to the violations it finds,
 * every violation naming the file, the line and the specifier that break it.
 * - nothing in src/brokers imports store, interactions, http or the mocks;
 * - the mocks (`mocks/`, `src/mocks/`, or today still `src/brokers/<id>/mock/` and `src/brokers/mock-*.ts`)
 *   import nothing of the product, only each other;
 * - src/policies imports nothing of ours outside policies except with `import type`;
 * - src/provider and src/http do not import src/interactions;
 * - src/admin (beside the login path) imports neither src/provider nor src/interactions: it uses the store,
 *   policies and services handed in by the composition root;
 * - no import cycles (type-only imports count: no file imports a file that imports it);
 * - no prototype is assigned (oidc-provider's classes are the ones at risk; we have no reason to touch any).
 */
import { findCycles, importEdges, prototypeWrites, type ImportEdge, type SourceTree } from './import-graph.js';

export const MOCK_FILE = /^(mocks\/|src\/mocks\/|src\/brokers\/[^/]+\/mock\/|src\/brokers\/mock-[^/]*$)/;

const isMock = (file: string): boolean => MOCK_FILE.test(file);
const under = (folder: string) => (file: string): boolean => file.startsWith(`${folder}/`);
const isProduct = (file: string): boolean => file.startsWith('src/') && !isMock(file);

function explain(edge: ImportEdge, why: string): string {
  return `${edge.from}:${edge.line} imports '${edge.specifier}' (${edge.to}): ${why}`;
}

export interface RuleResults {
  brokers: string[];
  mocks: string[];
  policies: string[];
  provider: string[];
  http: string[];
  admin: string[];
  cycles: string[];
  prototypes: string[];
}

export function checkRules(tree: SourceTree): RuleResults {
  const edges = importEdges(tree);
  const where = (from: (file: string) => boolean, to: (file: string) => boolean, why: string, keep: (edge: ImportEdge) => boolean = () => true) =>
    edges.filter((edge) => from(edge.from) && to(edge.to) && keep(edge)).map((edge) => explain(edge, why));

  const inBrokers = under('src/brokers');
  const coreOfBrokers = ['src/store', 'src/interactions', 'src/http'];
  return {
    brokers: [
      ...coreOfBrokers.flatMap((folder) => where(inBrokers, under(folder), `src/brokers must not import ${folder}`)),
      ...where((file) => inBrokers(file) && !isMock(file), isMock, 'src/brokers must not import the mocks'),
    ],
    mocks: where(isMock, isProduct, 'a mock is the outside world: it imports nothing of the product'),
    policies: where(
      under('src/policies'),
      (file) => !under('src/policies')(file),
      'src/policies imports nothing of ours but types (write `import type`)',
      (edge) => !edge.typeOnly,
    ),
    provider: where(under('src/provider'), under('src/interactions'), 'src/provider must not import src/interactions'),
    http: where(under('src/http'), under('src/interactions'), 'src/http must not import src/interactions'),
    admin: ['src/provider', 'src/interactions'].flatMap((folder) => where(under('src/admin'), under(folder), `src/admin must not import ${folder} (it is handed what it needs)`)),
    cycles: findCycles(edges.filter((edge) => tree.has(edge.from) && tree.has(edge.to))).map(({ path, files }) => {
      const others = files.filter((file) => !path.includes(file));
      return `import cycle: ${path.join(' → ')}${others.length ? ` (the same knot also holds ${others.join(', ')})` : ''}`;
    }),
    prototypes: prototypeWrites(tree).map((write) => `${write.file}:${write.line} assigns to a prototype: ${write.text}`),
  };
}
