/**
 * npm planned from `npm ls --json --long` outputs captured on a real host
 * (test/fixtures/facts/npm/README.md); the `npm outdated --json` outputs are
 * hand-made in npm's documented format.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/contract/task.js';
import { npmFact, parseNpmState, type NpmArgs, type NpmState } from '../../../src/facts/npm.js';
import { npmTask } from '../../../src/tasks/npm.js';
import { ctx } from './_helpers.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/npm/${name}`, import.meta.url), 'utf8');
const APP: NpmArgs = { path: '/srv/app', global: false, executable: 'npm', production: false, outdated: false };
const state = (ls: string, outdated?: string, args: NpmArgs = APP): NpmState =>
  parseNpmState(`__ls\n${ls}${outdated === undefined ? '' : `\n__outdated\n${outdated}`}`, args);
const plan = (args: Record<string, unknown>, npm: NpmState): Plan => npmTask.plan(npmTask.schema.parse(args), { npm }, ctx);
const summary = (p: Plan) => (p.kind === 'change' ? `change: ${p.summary} :: ${p.steps.map((s) => s.command).join(' ; ')}` : `${p.kind}: ${'reason' in p ? p.reason : ''}`);

describe('npm fact (captured)', () => {
  it('reads missing, installed and invalid dependencies', () => {
    expect(state(fixture('ls-missing.json')).dependencies).toEqual({ leftish: { missing: true, invalid: false } });
    expect(state(fixture('ls-installed.json')).dependencies).toEqual({ leftish: { version: '1.0.0', missing: false, invalid: false } });
    expect(state(fixture('ls-invalid.json')).dependencies).toEqual({ leftish: { version: '1.0.0', missing: false, invalid: true } });
    expect(Object.keys(state(fixture('ls-global.json')).dependencies)).toEqual(['corepack', 'npm']);
  });

  it('says what is wrong when npm or the path is missing, and quotes every value in its command', () => {
    expect(() => parseNpmState('__no_npm\n', APP)).toThrow('npm not found on the host: install Node.js and npm first');
    expect(() => parseNpmState('__no_path\n', APP)).toThrow('path /srv/app does not exist on the host');
    expect(npmFact.command({ ...APP, path: "/srv/it's here", outdated: true, global: true })).toContain("cd '/srv/it'\\''s here'");
    expect(npmFact.command({ ...APP, outdated: true, global: true })).toContain('npm outdated --json --global');
  });
});

describe('npm plan', () => {
  it('a project: npm install when package.json asks for what is missing or invalid, ok once installed, npm ci with ci', () => {
    expect(summary(plan({ path: '/srv/app' }, state(fixture('ls-missing.json'))))).toBe(
      'change: npm install in /srv/app (leftish not installed as package.json asks) :: cd /srv/app && npm install',
    );
    expect(summary(plan({ path: '/srv/app', ci: true, production: true }, state(fixture('ls-invalid.json'))))).toBe(
      'change: npm ci in /srv/app (leftish not installed as package.json asks) :: cd /srv/app && npm ci --production',
    );
    expect(summary(plan({ path: '/srv/app' }, state(fixture('ls-installed.json'))))).toBe('ok: every dependency of /srv/app/package.json is installed');
  });

  it('a named package: installed, at a version, latest, absent', () => {
    const installed = state(fixture('ls-installed.json'));
    expect(summary(plan({ name: 'leftish', path: '/srv/app' }, installed))).toBe('ok: leftish 1.0.0 is installed in /srv/app');
    expect(summary(plan({ name: 'leftish', path: '/srv/app', version: '1.1.0', ignore_scripts: true }, installed))).toBe(
      'change: install leftish@1.1.0 in /srv/app (installed at 1.0.0) :: cd /srv/app && npm install leftish@1.1.0 --ignore-scripts',
    );
    expect(summary(plan({ name: 'forever', global: true, state: 'latest' }, state(fixture('ls-global.json'), '{}')))).toBe(
      'change: install forever in the global prefix (not installed) :: npm install forever --global',
    );
    const outdated = '{"leftish": {"current": "1.0.0", "wanted": "1.0.0", "latest": "1.1.0", "dependent": "app", "location": "/srv/app/node_modules/leftish"}}';
    expect(summary(plan({ name: 'leftish', path: '/srv/app', state: 'latest' }, state(fixture('ls-installed.json'), outdated)))).toBe(
      'change: update leftish in /srv/app (npm outdated lists it) :: cd /srv/app && npm update leftish',
    );
    expect(summary(plan({ name: 'leftish', path: '/srv/app', state: 'latest' }, state(fixture('ls-installed.json'), '{}')))).toBe('ok: leftish 1.0.0 is installed in /srv/app and not outdated');
    expect(summary(plan({ name: 'leftish', path: '/srv/app', state: 'absent' }, installed))).toBe('change: uninstall leftish from /srv/app :: cd /srv/app && npm uninstall leftish');
    expect(summary(plan({ name: 'leftish', path: '/srv/app', state: 'absent' }, state(fixture('ls-missing.json'))))).toBe('ok: leftish is not installed in /srv/app');
  });

  it('predicts the state after the change for later tasks of a check run', () => {
    const p = plan({ path: '/srv/app' }, state(fixture('ls-missing.json')));
    if (p.kind !== 'change') throw new Error('expected a change');
    const after = p.predictions?.[0]?.value as NpmState;
    expect(summary(plan({ path: '/srv/app' }, after))).toBe('ok: every dependency of /srv/app/package.json is installed');
  });

  it('refuses what the module refuses', () => {
    for (const [args, message] of [
      [{ name: 'x' }, /give path, or global: true/],
      [{ path: '/srv/app', state: 'absent' }, /state: absent needs name/],
      [{ path: 'relative' }, /an absolute path/],
      [{ path: '/srv/app', name: 'a b' }, /one package name/],
      [{ path: '/srv/app', name: 'x', ci: true }, /ci installs a whole project/],
      [{ path: '/srv/app', bogus: 1 }, /bogus/],
    ] as const) {
      expect(() => npmTask.schema.parse(args)).toThrow(message);
    }
  });
});
