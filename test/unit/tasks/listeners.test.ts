import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TaskError } from '../../../src/contract/errors.js';
import { parseListeners, type ListenersInfo } from '../../../src/facts/listeners.js';
import { describeListeners, listeners } from '../../../src/tasks/listeners.js';
import { ctx } from './_helpers.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/ss/${name}.txt`, import.meta.url), 'utf8');
// recorded: sshd on 0.0.0.0:22 and [::]:22, python3 on 0.0.0.0:8080, 127.0.0.53:53/tcp, 127.0.0.1:5353/udp, *:514/udp
const root = parseListeners(`__tool=ss\n${fixture('debian12-root')}`);
const nobody = parseListeners(`__tool=ss\n${fixture('debian13-nobody')}`);
const plan = (a: Record<string, unknown>, info: ListenersInfo = root, check = false) => listeners.plan(listeners.schema.parse(a), { info }, { ...ctx, check });

describe('listeners task', () => {
  it('ok when only allowed services listen (loopback is fine by default)', () => {
    const p = plan({ allow: ['22/tcp', { port: 8080, proto: 'tcp' }, '514/udp'] });
    expect(p).toEqual({
      kind: 'ok',
      reason: 'only allowed listeners: 22/tcp (sshd pid 2130) on ::, 0.0.0.0; 53/tcp (python3 pid 2133) on 127.0.0.53; 8080/tcp (python3 pid 2131) on 0.0.0.0; 514/udp (python3 pid 2133) on *; 5353/udp (python3 pid 2133) on 127.0.0.1',
    });
  });

  it('by process name, by bare port (tcp and udp), by address', () => {
    expect(plan({ allow: ['sshd', 'python3'] }).kind).toBe('ok');
    expect(plan({ allow: ['22', '8080', '514'] }).kind).toBe('ok');
    expect(() => plan({ allow: ['sshd', { port: 8080, address: '127.0.0.1' }, '514/udp'] })).toThrow(/8080\/tcp \(python3 pid 2131\) on 0.0.0.0/);
  });

  it('unexpected listeners fail the task, naming port, address and process', () => {
    let err: unknown;
    try {
      plan({ allow: ['22/tcp'] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).code).toBe('E_LISTENERS');
    expect((err as TaskError).message).toBe(
      'unexpected listeners: 8080/tcp (python3 pid 2131) on 0.0.0.0; 514/udp (python3 pid 2133) on *; stop or remove the service behind each, or add it to allow:',
    );
  });

  it('check mode: drift as a change without steps, with a diff', () => {
    const p = plan({ allow: ['22/tcp'] }, root, true);
    expect(p.kind).toBe('change');
    if (p.kind !== 'change') return;
    expect(p.steps).toEqual([]);
    expect(p.summary).toBe('unexpected listeners: 8080/tcp (python3 pid 2131) on 0.0.0.0; 514/udp (python3 pid 2133) on *');
    expect(p.diffs?.[0]?.before).toContain('8080/tcp');
    expect(p.diffs?.[0]?.after).not.toContain('8080/tcp');
    expect(p.diffs?.[0]?.after).toContain('22/tcp');
  });

  it('state: report lists them without failing', () => {
    expect(plan({ allow: ['22/tcp'], state: 'report' })).toEqual({
      kind: 'ok',
      reason: 'unexpected listeners (state: report): 8080/tcp (python3 pid 2131) on 0.0.0.0; 514/udp (python3 pid 2133) on *',
    });
  });

  it('localhost_ok: false', () => {
    expect(() => plan({ allow: ['22/tcp', '8080/tcp', '514/udp'], localhost_ok: false })).toThrow(/53\/tcp .* on 127.0.0.53; 5353\/udp .* on 127.0.0.1/);
  });

  it('process names need root: says so', () => {
    expect(() => plan({ allow: ['sshd'] }, nobody)).toThrow(/process names are not visible: run with become: true/);
  });

  it('no tool on the host; bad entries', () => {
    expect(() => plan({ allow: [] }, { tool: 'none', listeners: [] })).toThrow(/neither ss/);
    expect(() => plan({ allow: ['22/sctp'] })).toThrow(/PORT\/tcp/);
    expect(() => plan({ allow: ['99999'] })).toThrow(/out of range/);
    expect(listeners.schema.safeParse({ allow: [{ port: 22, proto: 'icmp' }] }).success).toBe(false);
    expect(plan({ allow: [] }, { tool: 'ss', listeners: [] })).toEqual({ kind: 'ok', reason: 'nothing listens' });
  });

  it('describes listeners grouped by port', () => {
    expect(describeListeners(nobody.listeners)).toEqual(['22/tcp on ::, 0.0.0.0', '53/tcp on 127.0.0.53', '8080/tcp on 0.0.0.0', '514/udp on *', '5353/udp on 127.0.0.1']);
  });
});
