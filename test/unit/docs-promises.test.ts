/**
 * docs/security.md names, for every promise, the tests that hold it: each named
 * test file must exist and contain each quoted test title (so a promise cannot
 * lose its test by a rename or a deletion without this failing).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const doc = readFileSync(new URL('docs/security.md', root), 'utf8');
const rows = doc.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| promise') && !l.startsWith('|---'));

describe('docs/security.md', () => {
  it('lists promises, each held by at least one test', () => {
    expect(rows.length).toBeGreaterThan(10);
  });

  it.each(rows.map((r) => [r.split(' | ')[0]!.slice(2), r.split(' | ')[1] ?? '']))('%s', (_promise, held) => {
    // `file` "title", "title"; `file2` "title"
    const parts = [...held.matchAll(/`([^`]+\.test\.ts)`([^`]*)/g)];
    expect(parts.length, held).toBeGreaterThan(0);
    for (const [, file, rest] of parts) {
      const path = new URL(file as string, root);
      expect(existsSync(path), `${file} exists`).toBe(true);
      const text = readFileSync(path, 'utf8');
      const titles = [...(rest as string).matchAll(/"([^"]+)"/g)].map((m) => m[1] as string);
      for (const t of titles) expect(text.includes(t), `${file} has a test "${t}"`).toBe(true);
    }
  });
});

describe('README and docs/', () => {
  it('every relative link points to a file that exists', () => {
    const docs = ['README.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    for (const file of docs) {
      const base = new URL(file, root);
      for (const m of readFileSync(base, 'utf8').matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/.test(target)) continue;
        if (!existsSync(new URL(target, base))) broken.push(`${file}: ${target}`);
      }
    }
    expect(docs.length).toBeGreaterThan(5);
    expect(broken).toEqual([]);
  });
});

describe('README performance figures', () => {
  it('each one is held by a results file under bench/results/ (the README quotes only measured figures)', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const section = /\n## Performance\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
    // times, ratios, sizes and counts of the section: "10.8 s", "16x", "153 MiB", "3 round trips"
    const figures = [...section.matchAll(/\b\d+(?:\.\d+)?(?: s\b|x\b| MiB\b| ms\b)/g)].map((m) => m[0]);
    expect(figures.length).toBeGreaterThan(3);
    const dir = new URL('bench/results/', root);
    const held = readdirSync(dir)
      .filter((f) => f.endsWith('.md'))
      .map((f) => readFileSync(new URL(f, dir), 'utf8'))
      .join('\n');
    expect(figures.filter((f) => !held.includes(f))).toEqual([]);
  });
});
