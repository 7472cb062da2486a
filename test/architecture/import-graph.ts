/**
 * Reads the project's import graph with the TypeScript compiler API, and the rules of DESIGN.md §1 over it.
 * - every `import`, `export … from`, `import()` and `import x = require()` between our own files is an edge;
 *   an edge is type-only when the whole declaration says `type` (`import type`, `export type`): under
 *   verbatimModuleSyntax `import { type A }` still loads the module, so it counts as a runtime import;
 * - cycles count every edge, type-only ones too: a file never imports a file that imports it;
 * - a prototype assignment is found in the syntax tree (not in comments or strings): `x.prototype.y = …`,
 *   `p.y = …` where `p` was bound to some `.prototype`, and `Object.defineProperty`/`defineProperties`/
 *   `assign`/`setPrototypeOf` or `Reflect.defineProperty`/`set` on either.
 * The rules take a plain map of files, so a test can feed them a small synthetic tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Project-relative path (with `/`) → source text. */
export type SourceTree = Map<string, string>;

export interface ImportEdge {
  from: string;
  /** The project-relative file it resolves to (`.js` read as the `.ts` beside it). */
  to: string;
  specifier: string;
  line: number;
  typeOnly: boolean;
}

export interface PrototypeWrite {
  file: string;
  line: number;
  text: string;
}

const SOURCE = /\.(ts|mts|cts)$/;

/** Every TypeScript file under the given project folders (those that exist), declaration files left out. */
export function readTree(root: string, folders: readonly string[]): SourceTree {
  const tree: SourceTree = new Map();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) tree.set(rel, fs.readFileSync(path.join(root, rel), 'utf8'));
    }
  };
  for (const folder of folders) if (fs.existsSync(path.join(root, folder))) walk(folder);
  return tree;
}

function parse(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

function lineOf(source: ts.SourceFile, node: ts.Node): number {
  return source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
}

/** Where a relative specifier points inside the tree; undefined for a package. */
function resolve(tree: SourceTree, from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const stem = base.replace(/\.(js|mjs|cjs)$/, '');
  const candidates = [`${stem}.ts`, `${stem}.mts`, `${stem}.cts`, base, `${base}/index.ts`];
  return candidates.find((candidate) => tree.has(candidate)) ?? base;
}

export function importEdges(tree: SourceTree): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const [file, text] of tree) {
    const source = parse(file, text);
    const add = (node: ts.Node, specifier: string, typeOnly: boolean): void => {
      const to = resolve(tree, file, specifier);
      if (to) edges.push({ from: file, to, specifier, line: lineOf(source, node), typeOnly });
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        add(node, node.moduleSpecifier.text, node.importClause?.isTypeOnly ?? false);
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        add(node, node.moduleSpecifier.text, node.isTypeOnly);
      } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
        const expression = node.moduleReference.expression;
        if (ts.isStringLiteral(expression)) add(node, expression.text, node.isTypeOnly);
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const [argument] = node.arguments;
        if (argument && ts.isStringLiteralLike(argument)) add(node, argument.text, false);
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
        add(node, node.argument.literal.text, true); // `typeof import('./x.js')` in a type position
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return edges;
}

export interface ImportCycle {
  /** One shortest cycle, closing on its first file. */
  path: string[];
  /** Every file caught in the same knot (its strongly connected component), sorted. */
  files: string[];
}

/** Every knot of mutually importing files among the given edges, each with one cycle through it. */
export function findCycles(edges: readonly ImportEdge[]): ImportCycle[] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  // Tarjan's strongly connected components, iteratively so a long chain cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  for (const start of [...next.keys()].sort()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; i: number }> = [{ node: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const frame = work[work.length - 1]!;
      const targets = next.get(frame.node) ?? [];
      if (frame.i < targets.length) {
        const target = targets[frame.i++]!;
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, i: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = (next.get(frame.node) ?? []).includes(frame.node);
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  }
  return components.map((files) => ({ path: cyclePath(files, next), files }));
}

/** A shortest way from the component's first file back to itself, through the component only. */
function cyclePath(component: string[], next: Map<string, string[]>): string[] {
  const members = new Set(component);
  const start = component[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const node = queue.shift()!;
    for (const target of next.get(node) ?? []) {
      if (!members.has(target)) continue;
      if (target === start) {
        const pathBack = [node];
        while (pathBack[0] !== start) pathBack.unshift(cameFrom.get(pathBack[0]!)!);
        return [...pathBack, start];
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, node);
        queue.push(target);
      }
    }
  }
  return [...component, start];
}

const PROTOTYPE_WRITERS = new Set([
  'Object.defineProperty', 'Object.defineProperties', 'Object.assign', 'Object.setPrototypeOf',
  'Reflect.defineProperty', 'Reflect.set', 'Reflect.setPrototypeOf',
]);

/** Every place a prototype (or a name bound to one) is written to. */
export function prototypeWrites(tree: SourceTree): PrototypeWrite[] {
  const writes: PrototypeWrite[] = [];
  for (const [file, text] of tree) {
    const source = parse(file, text);
    const aliases = new Set<string>();
    const mentionsPrototype = (node: ts.Node): boolean => {
      let found = false;
      const look = (n: ts.Node): void => {
        if (found) return;
        if (ts.isPropertyAccessExpression(n) && n.name.text === 'prototype') found = true;
        else if (ts.isElementAccessExpression(n) && ts.isStringLiteralLike(n.argumentExpression) && n.argumentExpression.text === 'prototype') found = true;
        else if (ts.isIdentifier(n) && aliases.has(n.text)) found = true;
        else ts.forEachChild(n, look);
      };
      look(node);
      return found;
    };
    const report = (node: ts.Node): void => {
      writes.push({ file, line: lineOf(source, node), text: node.getText(source).split('\n')[0]!.slice(0, 120) });
    };
    const collectAliases = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && mentionsPrototype(node.initializer)) {
        aliases.add(node.name.text);
      }
      ts.forEachChild(node, collectAliases);
    };
    collectAliases(source);
    const visit = (node: ts.Node): void => {
      if (ts.isBinaryExpression(node) && node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && node.operatorToken.kind <= ts.SyntaxKind.LastAssignment) {
        const target = node.left;
        if ((ts.isPropertyAccessExpression(target) || ts.isElementAccessExpression(target)) && mentionsPrototype(target.expression)) report(node);
      } else if (ts.isCallExpression(node) && PROTOTYPE_WRITERS.has(node.expression.getText(source))) {
        const [first] = node.arguments;
        if (first && mentionsPrototype(first)) report(node);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return writes;
}
