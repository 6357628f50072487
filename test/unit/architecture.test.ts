/**
 * The floors of docs/architecture.md, held against the code: every relative
 * import in src/ points to a lower floor or stays in its own folder; and no
 * function grows past what one reads in a sitting.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(new URL('../../src', import.meta.url).pathname);

const FLOORS: Record<string, number> = {
  contract: 0,
  schema: 1,
  connections: 1,
  facts: 1,
  core: 2,
  tasks: 3,
  reporters: 3,
  'api-core.ts': 4,
  'api.ts': 5,
  'index.ts': 6,
  cli: 5,
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const room = (file: string): string => relative(SRC, file).split('/')[0] as string;

describe('architecture', () => {
  it('every import in src/ points down a floor or stays in its folder', () => {
    const upward: string[] = [];
    for (const file of files(SRC)) {
      const from = room(file);
      expect(FLOORS[from], `${relative(SRC, file)} is on no floor of docs/architecture.md`).toBeDefined();
      for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from '(\.{1,2}\/[^']+)'/gm)) {
        const target = room(resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts')));
        if (target === from) continue;
        if (!((FLOORS[target] ?? Infinity) < (FLOORS[from] as number))) upward.push(`${relative(SRC, file)} -> ${m[1]}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('no function in src/ is longer than 150 lines', () => {
    const long: string[] = [];
    for (const file of files(SRC)) {
      const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body) {
          const lines = src.getLineAndCharacterOfPosition(node.getEnd()).line - src.getLineAndCharacterOfPosition(node.getStart()).line + 1;
          if (lines > 150) long.push(`${relative(SRC, file)}:${src.getLineAndCharacterOfPosition(node.getStart()).line + 1} (${lines} lines)`);
        }
        ts.forEachChild(node, visit);
      };
      visit(src);
    }
    expect(long).toEqual([]);
  });
});
