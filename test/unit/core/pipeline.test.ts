/**
 * One task's pipeline (render, validate, facts, plan, pre-flight, predict or
 * apply, register) driven by a fake session: no host, no shell. The module is
 * a hand-made test double whose plan is decided by its arguments.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ExecResult } from '../../../src/connections/types.js';
import { ConnectionError } from '../../../src/contract/errors.js';
import { req, type Fact, type FactRequest } from '../../../src/contract/fact.js';
import { change, defineTask, ok, type AccessInfo, type HostKeyChange, type Plan } from '../../../src/contract/task.js';
import type { ConfirmRequest } from '../../../src/core/confirm.js';
import type { ExecRequest, FactRead, ReadAfter, RunAs } from '../../../src/core/host.js';
import { runAs, runTaskItem, type PipelineEnv, type PipelineSession } from '../../../src/core/pipeline.js';
import { parsePlaybook, type PlayDef } from '../../../src/core/playbook.js';
import { host } from '../tasks/_helpers.js';
import { reboot } from '../../../src/tasks/reboot.js';
import type { RebootRequest } from '../../../src/contract/task.js';

const stateFact: Fact<{ path: string }, string> = {
  name: 'state',
  command: ({ path }) => `cat ${path}`,
  parse: (stdout) => stdout.trim(),
};

/** Wants `path` to hold `value`; `risky` marks the change access-risky; `refuse` makes the pre-flight object. */
const fake = defineTask({
  name: 'fake',
  description: 'test double',
  schema: z.strictObject({ path: z.string(), value: z.string(), risky: z.boolean().default(false), refuse: z.string().optional(), newKey: z.string().optional() }),
  facts: (a) => ({ current: req(stateFact, { path: a.path }) }),
  plan: (a, f) =>
    f.current === a.value
      ? ok(`${a.path} holds ${a.value}`)
      : change(`set ${a.path} to ${a.value}`, [{ command: `write ${a.value}` }], {
          diffs: [{ label: a.path, before: f.current, after: a.value }],
          predictions: [{ request: req(stateFact, { path: a.path }), value: a.value }],
          ...(a.risky ? { risk: 'access' as const } : {}),
          ...(a.newKey ? { hostKeys: { files: [a.newKey], removed: [] } } : {}),
        }),
  lockout: (a) => a.refuse,
});
/**
 * Registers what its preparation saw (the variables, the search directories)
 * as the plan's data; `mode: probe` makes its plan a probe whose step prints
 * the seconds it waited.
 */
const seer = defineTask({
  name: 'seer',
  description: 'test double that registers data',
  schema: z.strictObject({ mode: z.enum(['ok', 'change', 'probe']), seen: z.string().default('') }),
  prepare: async (a, ctx) => ({ ...a, seen: `${String(ctx.vars.greeting)}|${ctx.searchDirs.templates.join(',')}|${ctx.searchDirs.files.join(',')}` }),
  facts: () => ({}),
  plan: (a): Plan => {
    if (a.mode === 'ok') return ok('seen', { seen: a.seen, changed: 'data cannot override this' });
    if (a.mode === 'change') return change('write', [{ command: 'write' }], { data: { seen: a.seen } });
    return { kind: 'probe', summary: 'port 8080 is open', step: { command: 'wait 300', timeoutMs: 305_000 }, checkStep: { command: 'wait 0' }, data: (out) => ({ elapsed: Number(out.trim()) }) };
  },
});
const registry = { fake, seer, reboot };

class FakeSession implements PipelineSession {
  readonly facts = { ...host, ssh: { clientIp: '10.0.0.1', clientPort: 50000, serverIp: '10.0.0.2', serverPort: 22 } };
  readonly connection = { kind: 'ssh' };
  accessPort = 22;
  predictedChanges = 0;
  readonly execs: { command: string; req: ExecRequest }[] = [];
  readonly reads: string[][] = [];
  readonly predicted = new Map<string, unknown>();
  invalidated = 0;
  constructor(
    private readonly state: Record<string, string>,
    private readonly onExec: (command: string) => ExecResult = () => ({ code: 0, stdout: 'done\n', stderr: '' }),
  ) {}
  async readFacts(requests: readonly FactRequest[], _as: RunAs): Promise<Map<string, unknown>> {
    this.reads.push(requests.map((r) => r.id));
    return new Map(requests.map((r) => [r.id, this.predicted.get(r.id) ?? this.state[(r.args as { path: string }).path] ?? '']));
  }
  async exec(command: string, r: ExecRequest): Promise<ExecResult> {
    this.execs.push({ command, req: r });
    return this.onExec(command);
  }
  /** Reads after a command: each read's value is "after <id>". */
  readonly readsAfter: string[][] = [];
  readonly adopted: string[] = [];
  async execThenRead(command: string, r: ExecRequest, reads: readonly FactRead[]): Promise<{ res: ExecResult; after: ReadAfter }> {
    this.readsAfter.push(reads.map((x) => x.request.id));
    return { res: await this.exec(command, r), after: new Map(reads.map((x) => [x.request.id, `after ${x.request.id}`])) };
  }
  /** Adopted keys, each after how many invalidations. */
  adopt(after: ReadAfter): void {
    this.adopted.push(...[...after.keys()].map((k) => `${this.invalidated}:${k}`));
  }
  predict(request: FactRequest, value: unknown): void {
    this.predicted.set(request.id, value);
  }
  dropPredictions(): void {
    this.predicted.clear();
  }
  invalidate(): void {
    this.invalidated++;
  }
}

function setup(taskYaml: string, opts: { check?: boolean; session?: FakeSession; allowLockout?: boolean; unprotected?: boolean; ahead?: FactRead[] } = {}) {
  const book = parsePlaybook(`- hosts: all\n  become: true\n${opts.unprotected ? '  lockout_protection: false\n' : ''}  tasks:\n${taskYaml.replace(/^/gm, '    ')}\n`, '/srv/pb.yaml', registry);
  const play = book.plays[0] as PlayDef;
  const session = opts.session ?? new FakeSession({ '/etc/x': 'old' });
  const confirmed: ConfirmRequest[] = [];
  const recorded: HostKeyChange[] = [];
  const rebooted: RebootRequest[] = [];
  const sleeps: number[] = [];
  const access: AccessInfo = { user: 'admin', clientIp: '10.0.0.1', serverPort: 22, auth: 'publickey', keys: [] };
  const env: PipelineEnv = {
    registry,
    hostBecome: {},
    check: opts.check ?? false,
    ...(opts.allowLockout ? { lockout: { allowLockout: true } } : {}),
    session,
    ...(opts.ahead ? { readsAhead: () => opts.ahead! } : {}),
    access: () => access,
    applyConfirmed: async (r) => {
      confirmed.push(r);
      await r.runSteps('PREFIX;', r.timeoutMs);
      return r.hostKeys ? '; keys recorded and confirmed' : '';
    },
    recordHostKeys: async (c) => {
      recorded.push(c);
      return '; keys recorded';
    },
    reboot: async (r) => {
      rebooted.push(r);
      return { elapsedSec: 42, bootId: 'after' };
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
  const go = (vars: Record<string, unknown> = {}) => runTaskItem(play.tasks[0]!, play, vars, env);
  return { session, confirmed, recorded, rebooted, sleeps, go, env };
}

describe('task pipeline: reboot', () => {
  it('hands the reboot to the runner and registers rebooted and elapsed; check mode only says it would', async () => {
    const yaml = '- reboot: { reboot_timeout: 300, post_reboot_delay: 5, test_command: uptime }';
    const { rebooted, go } = setup(yaml, { session: new FakeSession({}, () => ({ code: 0, stdout: '', stderr: '' })) });
    const out = await go();
    expect(rebooted).toEqual([
      { command: 'PATH="$PATH:/sbin:/usr/sbin" shutdown -r 0 \'Reboot initiated by Ansible\'', bootTimeCommand: 'cat /proc/sys/kernel/random/boot_id', bootIdBefore: '', testCommand: 'uptime', timeoutSec: 300, postDelaySec: 5 },
    ]);
    expect(out.result).toMatchObject({ status: 'changed', message: 'reboot (boot id now ); back after 42 s, boot id after' });
    expect(out.registered).toMatchObject({ changed: true, rebooted: true, elapsed: 42 });
    const check = setup(yaml, { check: true });
    expect((await check.go()).result).toMatchObject({ status: 'changed', message: 'reboot (boot id now )' });
    expect(check.rebooted).toEqual([]);
  });
});

describe('task pipeline', () => {
  it('skips on a false when without reading facts', async () => {
    const { session, go } = setup('- fake: { path: /etc/x, value: new }\n  when: enabled');
    const out = await go({ enabled: false });
    expect(out.result).toMatchObject({ status: 'skipped', message: 'condition is false (when)' });
    expect(out.registered).toMatchObject({ skipped: true, changed: false });
    expect(session.reads).toEqual([]);
  });

  it('says ok with the planner reason when the host already matches', async () => {
    const { session, go } = setup('- fake: { path: /etc/x, value: "{{ v }}" }');
    const out = await go({ v: 'old' });
    expect(out.result).toMatchObject({ status: 'ok', message: '/etc/x holds old' });
    expect(session.reads).toEqual([['state:{"path":"/etc/x"}']]);
    expect(session.execs).toEqual([]);
  });

  it('in check mode predicts the change for later tasks and runs nothing', async () => {
    const { session, go } = setup('- fake: { path: /etc/x, value: new }', { check: true });
    const out = await go();
    expect(out.result).toMatchObject({ status: 'changed', message: 'set /etc/x to new', diffs: [{ label: '/etc/x', before: 'old', after: 'new' }] });
    expect(session.execs).toEqual([]);
    expect(session.predicted.get('state:{"path":"/etc/x"}')).toBe('new');
  });

  it('check mode counts the predicted changes, which later planners see as earlierChanges; ok and applied changes do not count', async () => {
    const check = setup('- fake: { path: /etc/x, value: new }', { check: true });
    await check.go();
    expect(check.session.predictedChanges).toBe(1);
    const unchanged = setup('- fake: { path: /etc/x, value: old }', { check: true });
    await unchanged.go();
    expect(unchanged.session.predictedChanges).toBe(0);
    const apply = setup('- fake: { path: /etc/x, value: new }');
    await apply.go();
    expect(apply.session.predictedChanges).toBe(0);
  });

  it('applies the steps as the play says (become), invalidates the cache and registers the output', async () => {
    const { session, go } = setup('- fake: { path: /etc/x, value: new }\n  register: r');
    const out = await go();
    expect(out.result).toMatchObject({ status: 'changed', rc: 0, stdout: 'done' });
    expect(session.execs.map((e) => [e.command, e.req.become, e.req.becomeUser])).toEqual([['write new', true, 'root']]);
    expect(session.invalidated).toBe(1);
    expect(out.registered).toMatchObject({ changed: true, failed: false, rc: 0, stdout: 'done', stdout_lines: ['done'] });
  });

  it('a step outside its ok codes fails the task with the command error', async () => {
    const session = new FakeSession({ '/etc/x': 'old' }, () => ({ code: 3, stdout: '', stderr: 'disk full\n' }));
    const { go } = setup('- fake: { path: /etc/x, value: new }', { session });
    const out = await go();
    expect(out.result).toMatchObject({ status: 'failed', code: 'E_COMMAND', rc: 3, message: 'set /etc/x to new: exit 3: disk full' });
    expect(out.unreachable).toBeUndefined();
  });

  it('changed_when and failed_when see the registered result', async () => {
    expect((await setup('- fake: { path: /etc/x, value: new }\n  register: r\n  changed_when: "\'nothing\' in r.stdout"').go()).result.status).toBe('ok');
    expect((await setup('- fake: { path: /etc/x, value: new }\n  failed_when: "\'done\' in stdout"').go()).result).toMatchObject({
      status: 'failed',
      message: 'failed_when is true: set /etc/x to new',
    });
  });

  it('arguments that render invalid fail validation with the task location', async () => {
    const out = await setup('- fake: { path: /etc/x, value: "{{ v }}" }').go({ v: 42 });
    expect(out.result).toMatchObject({ status: 'failed', code: 'E_VALIDATION' });
    expect(out.result.message).toMatch(/^\/srv\/pb\.yaml:4:\d+ fake\.value: /);
  });

  it('an argument set to omit is left out, as in Ansible', async () => {
    const out = await setup('- fake: { path: /etc/x, value: new, risky: true, refuse: "{{ reason | default(omit) }}" }').go();
    expect(out.result).toMatchObject({ status: 'changed', message: 'set /etc/x to new' });
    const refused = await setup('- fake: { path: /etc/x, value: new, risky: true, refuse: "{{ reason | default(omit) }}" }').go({ reason: 'port 22 dropped' });
    expect(refused.result.code).toBe('E_LOCKOUT');
  });

  it('a lost connection marks the outcome unreachable', async () => {
    const session = new FakeSession({ '/etc/x': 'old' }, () => {
      throw new ConnectionError('web1', 'connection lost');
    });
    const out = await setup('- fake: { path: /etc/x, value: new }', { session }).go();
    expect(out.result).toMatchObject({ status: 'failed', code: 'E_UNREACHABLE' });
    expect(out.unreachable).toBeInstanceOf(ConnectionError);
  });

  it('an access-risky change goes through the confirmed apply, each step prefixed', async () => {
    const { session, confirmed, go } = setup('- fake: { path: /etc/x, value: new, risky: true }');
    const out = await go();
    expect(out.result.status).toBe('changed');
    expect(confirmed.map((c) => [c.taskName, c.timeoutSec])).toEqual([['fake path=/etc/x value=new risky=true', 120]]);
    expect(session.execs.map((e) => e.command)).toEqual(['PREFIX;write new']);
  });

  it('new host keys go to the confirmed apply, or are recorded after an unconfirmed one; the message says so', async () => {
    const guarded = setup('- fake: { path: /etc/x, value: new, risky: true, newKey: /etc/ssh/ssh_host_rsa_key.pub }');
    expect((await guarded.go()).result.message).toBe('set /etc/x to new; keys recorded and confirmed');
    expect(guarded.confirmed.map((c) => c.hostKeys)).toEqual([{ files: ['/etc/ssh/ssh_host_rsa_key.pub'], removed: [] }]);
    expect(guarded.recorded).toEqual([]);
    const unguarded = setup('- fake: { path: /etc/x, value: new, risky: true, newKey: /etc/ssh/ssh_host_rsa_key.pub }', { unprotected: true });
    expect((await unguarded.go()).result.message).toBe('set /etc/x to new; keys recorded');
    expect(unguarded.recorded).toEqual([{ files: ['/etc/ssh/ssh_host_rsa_key.pub'], removed: [] }]);
    expect(unguarded.session.execs.map((e) => e.command)).toEqual(['write new']);
    const checked = setup('- fake: { path: /etc/x, value: new, risky: true, newKey: /etc/ssh/ssh_host_rsa_key.pub }', { check: true });
    expect((await checked.go()).result.message).toBe('set /etc/x to new');
    expect([...checked.confirmed, ...checked.recorded]).toEqual([]);
  });

  it('the pre-flight refuses a change that cuts our access, before anything runs; allow_lockout turns it into a warning', async () => {
    const refused = setup('- fake: { path: /etc/x, value: new, risky: true, refuse: "port 22 dropped" }');
    const out = await refused.go();
    expect(out.result).toMatchObject({ status: 'failed', code: 'E_LOCKOUT' });
    expect(out.result.message).toContain('refused: port 22 dropped');
    expect(refused.session.execs).toEqual([]);
    const allowed = setup('- fake: { path: /etc/x, value: new, risky: true, refuse: "port 22 dropped" }', { allowLockout: true });
    expect((await allowed.go()).result.message).toBe('set /etc/x to new (pre-flight warning overridden: port 22 dropped)');
  });
});

describe('task pipeline: reads ahead of an apply', () => {
  const next: FactRead[] = [{ request: req(stateFact, { path: '/etc/next' }), as: { become: true, becomeUser: 'root' } }];
  const key = 'state:{"path":"/etc/next"}';
  const twoSteps = defineTask({ ...fake, name: 'two', plan: () => change('two steps', [{ command: 'first' }, { command: 'second' }]) });

  it('reads the next items\' facts in the round trip of the last step, and adopts them once the cache is dropped', async () => {
    const { session, go } = setup('- fake: { path: /etc/x, value: new }', { ahead: next });
    expect((await go()).result).toMatchObject({ status: 'changed', stdout: 'done' });
    expect(session.execs.map((e) => e.command)).toEqual(['write new']);
    expect(session.readsAfter).toEqual([[key]]);
    expect(session.adopted).toEqual([`1:${key}`]);
    const play = parsePlaybook('- hosts: all\n  tasks:\n    - two: { path: /etc/x, value: v }\n', '/srv/pb.yaml', { two: twoSteps }).plays[0]!;
    const multi = new FakeSession({});
    await runTaskItem(play.tasks[0]!, play, {}, { ...setup('- fake: { path: /etc/x, value: new }').env, registry: { two: twoSteps }, session: multi, readsAhead: () => next });
    expect(multi.execs.map((e) => e.command)).toEqual(['first', 'second']);
    expect(multi.readsAfter).toEqual([[key]]);
  });

  it('discards them when the step fails, or failed_when makes the task fail', async () => {
    const failing = new FakeSession({ '/etc/x': 'old' }, () => ({ code: 1, stdout: '', stderr: 'no' }));
    const a = setup('- fake: { path: /etc/x, value: new }', { ahead: next, session: failing });
    expect((await a.go()).result).toMatchObject({ status: 'failed' });
    expect(failing.readsAfter).toEqual([[key]]);
    expect(failing.adopted).toEqual([]);
    expect(failing.invalidated).toBe(1);
    const b = setup('- fake: { path: /etc/x, value: new }\n  failed_when: true', { ahead: next });
    expect((await b.go()).result).toMatchObject({ status: 'failed' });
    expect(b.session.adopted).toEqual([]);
  });

  it('reads nothing ahead in check mode, nor around a confirmed apply, new host keys or a reboot', async () => {
    const check = setup('- fake: { path: /etc/x, value: new }', { ahead: next, check: true });
    await check.go();
    expect(check.session.readsAfter).toEqual([]);
    for (const yaml of ['- fake: { path: /etc/x, value: new, risky: true }', '- fake: { path: /etc/x, value: new, newKey: /etc/ssh/k }', '- reboot: {}']) {
      const s = setup(yaml, { ahead: next, session: new FakeSession({ '/etc/x': 'old' }, () => ({ code: 0, stdout: '', stderr: '' })) });
      await s.go();
      expect(s.session.readsAfter).toEqual([]);
      expect(s.session.adopted).toEqual([]);
    }
  });
});

describe('registered data and probes', () => {
  const SEEN = 'hello|/srv/templates,/srv|/srv/files,/srv';

  it('prepare sees the variables and the search directories; a plan\'s data is registered beside the common keys, which keep their meaning', async () => {
    const okOut = await setup('- seer: { mode: ok }').go({ greeting: 'hello' });
    expect(okOut.result).toMatchObject({ status: 'ok', message: 'seen' });
    expect(okOut.registered).toMatchObject({ seen: SEEN, changed: false, failed: false, msg: 'seen' });
    const checked = await setup('- seer: { mode: change }', { check: true }).go({ greeting: 'hello' });
    expect(checked.registered).toMatchObject({ seen: SEEN, changed: true });
    const applied = await setup('- seer: { mode: change }').go({ greeting: 'hello' });
    expect(applied.registered).toMatchObject({ seen: SEEN, changed: true, rc: 0, stdout: 'done' });
  });

  it('a probe runs its waiting step in an apply, with the step\'s own timeout: ok with its data, or failed with its stderr', async () => {
    const waited = new FakeSession({}, () => ({ code: 0, stdout: '3\n', stderr: '' }));
    const out = await setup('- seer: { mode: probe }', { session: waited }).go();
    expect(out.result).toMatchObject({ status: 'ok', message: 'port 8080 is open' });
    expect(out.registered).toMatchObject({ elapsed: 3, changed: false, failed: false });
    expect(waited.execs.map((e) => [e.command, e.req.timeoutMs, e.req.become])).toEqual([['wait 300', 305_000, true]]);
    expect(waited.invalidated).toBe(0);
    const timedOut = new FakeSession({}, () => ({ code: 1, stdout: '', stderr: 'Timeout when waiting for 127.0.0.1:8080\n' }));
    const failed = await setup('- seer: { mode: probe }', { session: timedOut }).go();
    expect(failed.result).toMatchObject({ status: 'failed', code: 'E_COMMAND', rc: 1, message: 'Timeout when waiting for 127.0.0.1:8080' });
  });

  it('in check mode a probe asks once without waiting: ok when the condition holds now, else skipped; check_mode: false waits', async () => {
    const now = new FakeSession({}, () => ({ code: 0, stdout: '0\n', stderr: '' }));
    expect((await setup('- seer: { mode: probe }', { check: true, session: now }).go()).result.status).toBe('ok');
    expect(now.execs.map((e) => e.command)).toEqual(['wait 0']);
    const notYet = new FakeSession({}, () => ({ code: 1, stdout: '', stderr: 'port 8080 is closed\n' }));
    const skipped = await setup('- seer: { mode: probe }', { check: true, session: notYet }).go();
    expect(skipped.result).toMatchObject({ status: 'skipped', message: 'check mode: not now (port 8080 is closed); an apply waits for it' });
    const forced = new FakeSession({}, () => ({ code: 0, stdout: '1\n', stderr: '' }));
    await setup('- seer: { mode: probe }\n  check_mode: false', { check: true, session: forced }).go();
    expect(forced.execs.map((e) => e.command)).toEqual(['wait 300']);
  });
});

describe('runAs: who a task runs as', () => {
  const none = {};
  it('takes each setting from the first of task, play, host (inventory, then -b) that says it', () => {
    expect(runAs(none, none, none)).toEqual({ become: false, becomeUser: 'root' });
    expect(runAs(none, none, { become: true })).toEqual({ become: true, becomeUser: 'root' });
    expect(runAs(none, { become: false }, { become: true })).toEqual({ become: false, becomeUser: 'root' });
    expect(runAs({ become: true }, { become: false }, { become: false })).toEqual({ become: true, becomeUser: 'root' });
    expect(runAs({ becomeUser: 'postgres' }, { becomeUser: 'www' }, { becomeUser: 'app' }).becomeUser).toBe('postgres');
    expect(runAs(none, { becomeUser: 'www' }, { becomeUser: 'app' }).becomeUser).toBe('www');
    expect(runAs(none, none, { becomeUser: 'app' }).becomeUser).toBe('app');
  });
});

describe('until / retries / delay', () => {
  /** A session whose n-th command prints the n-th of `outputs` (the last one from then on). */
  const counting = (outputs: string[], code = 0) => {
    let n = 0;
    return new FakeSession({}, () => ({ code, stdout: `${outputs[Math.min(n++, outputs.length - 1)]}\n`, stderr: '' }));
  };

  it('runs again after delay seconds until the condition over the registered result holds, and registers attempts', async () => {
    const session = counting(['3', '7', '10']);
    const { sleeps, go } = setup('- seer: { mode: change }\n  register: result\n  retries: 100\n  delay: 1\n  until: result.stdout.find("10") != -1', { session });
    const out = await go();
    expect(out.result).toMatchObject({ status: 'changed', stdout: '10' });
    expect(out.registered).toMatchObject({ attempts: 3, stdout: '10', failed: false });
    expect(session.execs).toHaveLength(3);
    expect(sleeps).toEqual([1000, 1000]);
  });

  it('fails once retries + 1 attempts are spent, saying so', async () => {
    const session = counting(['no']);
    const { sleeps, go } = setup('- seer: { mode: change }\n  register: r\n  retries: 2\n  until: r.stdout == "yes"', { session });
    const out = await go();
    expect(out.result.status).toBe('failed');
    expect(out.result.message).toBe('until is still false after 3 attempts: write');
    expect(out.registered).toMatchObject({ attempts: 3, failed: true });
    expect(sleeps).toEqual([5000, 5000]);
  });

  it('without retries makes 3 attempts (Ansible default); `is succeeded` retries a failing command', async () => {
    const session = counting(['x'], 1);
    const { go } = setup('- seer: { mode: change }\n  register: r\n  until: r is succeeded', { session });
    const out = await go();
    expect(out.registered).toMatchObject({ attempts: 3, failed: true });
    expect(session.execs).toHaveLength(3);
  });

  it('is not retried in check mode (nothing ran that could make it hold)', async () => {
    const { session, sleeps, go } = setup('- fake: { path: /etc/x, value: new }\n  register: r\n  until: r is not changed', { check: true });
    const out = await go();
    expect(out.result.status).toBe('changed');
    expect(out.registered).toMatchObject({ attempts: 1 });
    expect(session.reads).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('refuses retries or delay without until, naming them', () => {
    expect(() => setup('- seer: { mode: change }\n  retries: 3')).toThrow(/retries without until/);
    expect(() => setup('- seer: { mode: change }\n  delay: 3')).toThrow(/delay without until/);
  });
});

describe('until errors', () => {
  it('an until that cannot be evaluated fails the task, naming until', async () => {
    const session = new FakeSession({}, () => ({ code: 0, stdout: 'x\n', stderr: '' }));
    const { go } = setup('- seer: { mode: change }\n  register: r\n  until: r.nothing.find("x") != -1', { session });
    const out = await go();
    expect(out.result.status).toBe('failed');
    expect(out.result.message).toMatch(/^until: /);
    expect(session.execs).toHaveLength(1);
  });
});
