/**
 * apt, dnf and yum: Ansible's modules as package on a host of that manager.
 * Facts from test/fixtures/facts/packages-debian12.txt (captured, see SOURCES.md)
 * and hand-made ones for the RPM host.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TaskError } from '../../../src/contract/errors.js';
import { parsePackagesFact } from '../../../src/facts/packages.js';
import { aptTask } from '../../../src/tasks/apt.js';
import { dnfTask, packageTask, yumTask } from '../../../src/tasks/package.js';
import { ctxOf, hostOf } from './_helpers.js';

const deb = hostOf('debian');
const rhel = hostOf('rhel');
const installed = parsePackagesFact(readFileSync(new URL('../../fixtures/facts/packages-debian12.txt', import.meta.url), 'utf8'), ['sudo', 'jq']);
/** Plans and fact requests without their functions (each request builds its own closures). */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
const refusal = (m: { schema: { safeParse(raw: unknown): { error?: { issues: { path: PropertyKey[]; message: string }[] } } } }, raw: unknown) => m.schema.safeParse(raw).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');

describe('apt, dnf, yum', () => {
  it('plan exactly as package does on a host of their manager', () => {
    const raw = { name: ['sudo', 'jq'], state: 'present', update_cache: true };
    const expected = packageTask.plan(packageTask.schema.parse(raw), { installed } as never, ctxOf(deb));
    expect(expected).toMatchObject({ kind: 'change', summary: 'install jq' });
    expect(plain(aptTask.plan(aptTask.schema.parse(raw), { installed } as never, ctxOf(deb)))).toEqual(plain(expected));
    expect(plain(aptTask.facts(aptTask.schema.parse(raw), ctxOf(deb)))).toEqual(plain(packageTask.facts(packageTask.schema.parse(raw), ctxOf(deb))));
    const rpm = { tree: { version: '1.8.0-10.el9' } };
    for (const m of [dnfTask, yumTask]) {
      expect(plain(m.plan(m.schema.parse({ name: 'tree', state: 'absent' }), { installed: rpm } as never, ctxOf(rhel)))).toEqual(
        plain(packageTask.plan(packageTask.schema.parse({ name: 'tree', state: 'absent' }), { installed: rpm } as never, ctxOf(rhel))),
      );
    }
  });

  it('fail on a host of another manager (yum also runs on dnf hosts, as in Ansible)', () => {
    const args = { name: 'tree' };
    expect(() => aptTask.plan(aptTask.schema.parse(args), { installed: { tree: null } } as never, ctxOf(rhel))).toThrow(
      new TaskError("apt: this host's package manager is dnf, not apt (package: picks the host's own)"),
    );
    expect(() => dnfTask.plan(dnfTask.schema.parse(args), { installed: { tree: null } } as never, ctxOf(deb))).toThrow(/package manager is apt, not dnf/);
    expect(() => yumTask.plan(yumTask.schema.parse(args), { installed: { tree: null } } as never, ctxOf(hostOf('rhel', { packageManager: 'yum' })))).not.toThrow();
  });

  it("refuse by name the arguments of Ansible's modules that package does not implement", () => {
    expect(refusal(aptTask, { name: 'x', deb: '/tmp/x.deb' })).toMatch(/deb/);
    expect(refusal(aptTask, { name: 'x', default_release: 'bookworm-backports' })).toMatch(/default_release/);
    expect(refusal(dnfTask, { name: 'x', autoremove: true })).toMatch(/autoremove/);
    expect(refusal(dnfTask, { name: 'x', state: 'absent', purge: true })).toMatch(/purge/);
    expect(refusal(yumTask, { name: '*', state: 'present' })).toMatch(/^name: /);
    expect(refusal(aptTask, { name: 'x', state: 'absent', purge: true })).toBeUndefined();
    expect(refusal(aptTask, { state: 'present' })).toBe('name: give name, upgrade, update_cache, autoremove or autoclean');
  });
});
