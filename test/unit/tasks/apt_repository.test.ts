/**
 * apt_repository: Ansible's file name for a repo line, the sources fact, and
 * the plans (present anywhere: ok; else appended to FILENAME.list; absent:
 * removed everywhere, an emptied .list deleted; apt-get update after a change).
 */
import { describe, expect, it } from 'vitest';
import { aptSourcesFact, parseAptSources } from '../../../src/facts/apt-sources.js';
import { aptRepository, suggestFilename } from '../../../src/tasks/apt_repository.js';
import type { Plan } from '../../../src/contract/task.js';
import { ctx, ctxOf, hostOf } from './_helpers.js';

const K8S = 'deb http://apt.kubernetes.io/ kubernetes-xenial main';
const parse = (raw: unknown) => aptRepository.schema.parse(raw);
const plan = (raw: unknown, sources: Record<string, string>): Plan => aptRepository.plan(parse(raw), { sources }, ctx);
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('apt_repository', () => {
  it("names the file as Ansible's _suggest_filename does", () => {
    expect(suggestFilename(K8S)).toBe('apt_kubernetes_io');
    expect(suggestFilename('deb [arch=amd64 signed-by=/k.asc] https://user:pw@download.docker.com/linux/debian bookworm stable')).toBe('download_docker_com_linux_debian');
  });

  it('the sources fact: every .list file, base64 so any text survives', () => {
    expect(parseAptSources(`file=/etc/apt/sources.list ${b64('deb a b\n')}\nfile=/etc/apt/sources.list.d/x.list \n`)).toEqual({
      '/etc/apt/sources.list': 'deb a b\n',
      '/etc/apt/sources.list.d/x.list': '',
    });
    expect(() => parseAptSources('garbage')).toThrow(/apt_sources/);
    expect(aptSourcesFact.command(null)).toContain('/etc/apt/sources.list.d/*.list');
  });

  it('present: ok when an enabled equal line is in any file; otherwise appended to FILENAME.list, then apt-get update', () => {
    expect(plan({ repo: K8S }, { '/etc/apt/sources.list': `#${K8S}\ndeb  http://apt.kubernetes.io/   kubernetes-xenial main\n` })).toMatchObject({ kind: 'ok' });
    const p = plan({ repo: K8S, filename: 'kubernetes' }, { '/etc/apt/sources.list': `# ${K8S}\n` });
    expect(p.kind === 'change' && p.summary).toBe(`add ${K8S} to /etc/apt/sources.list.d/kubernetes.list`);
    expect(p.kind === 'change' && p.steps.map((s) => s.stdin ?? s.command)).toEqual([`${K8S}\n`, 'apt-get update -q']);
    expect(p.kind === 'change' && p.steps[0]?.command).toContain('chmod 0644');
    expect(p.kind === 'change' && p.predictions?.[0]?.value).toMatchObject({ '/etc/apt/sources.list.d/kubernetes.list': `${K8S}\n` });
    const q = plan({ repo: K8S, update_cache: false }, {});
    expect(q.kind === 'change' && [q.summary, q.steps.length]).toEqual([`add ${K8S} to /etc/apt/sources.list.d/apt_kubernetes_io.list`, 1]);
  });

  it('absent: removed from every file holding it; an emptied .list is deleted, sources.list is kept', () => {
    const p = plan({ repo: K8S, state: 'absent' }, { '/etc/apt/sources.list': `deb a b\n${K8S}\n`, '/etc/apt/sources.list.d/k.list': `${K8S}\n`, '/etc/apt/sources.list.d/o.list': 'deb c d\n' });
    expect(p.kind === 'change' && p.steps.map((s) => s.stdin ?? s.command)).toEqual(['deb a b\n', 'rm -f -- /etc/apt/sources.list.d/k.list', 'apt-get update -q']);
    expect(p.kind === 'change' && p.predictions?.[0]?.value).toEqual({ '/etc/apt/sources.list': 'deb a b\n', '/etc/apt/sources.list.d/o.list': 'deb c d\n' });
    expect(plan({ repo: K8S, state: 'absent' }, {})).toEqual({ kind: 'ok', reason: `${K8S} is in no apt sources file` });
  });

  it('refuses ppa:, unknown arguments, and hosts without apt', () => {
    expect(aptRepository.schema.safeParse({ repo: 'ppa:deadsnakes/ppa' }).error?.issues[0]?.message).toMatch(/ppa: is not supported/);
    expect(aptRepository.schema.safeParse({ repo: K8S, codename: 'x' }).error?.issues[0]?.message).toMatch(/codename/);
    expect(() => aptRepository.plan(parse({ repo: K8S }), { sources: {} }, ctxOf(hostOf('rhel')))).toThrow(/not apt/);
  });
});
