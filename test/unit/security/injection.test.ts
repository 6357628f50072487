/**
 * Shell injection, property-based: hostile strings (quotes, $(), backticks, ;,
 * newlines, unicode, leading -) go into every string argument of every task
 * type that reaches a shell. Valid arguments are planned from synthetic facts
 * and the step commands are EXECUTED by a real /bin/sh in a sandbox whose PATH
 * starts with stubs (useradd, usermod, chown, apt-get, systemctl, sudo, ...)
 * that record their argv. Every hostile value must arrive as ONE literal argv
 * element or as literal file content, and the canary (`touch $CANARY`) must
 * never run. Invalid values must be refused by the schema with a clear message.
 *
 * Runs as root on the dev box: every path a step touches is inside the sandbox
 * (a path component without `/`, executed with the sandbox as cwd). Tasks that
 * write fixed system paths (fail2ban, firewall_persist, unattended_upgrades)
 * run with mktemp/mv/cp/chmod/mkdir stubbed as well (SYS_STUBS): the temporary
 * file is made in the sandbox and read back, nothing under /etc is touched.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalConnection } from '../../../src/connections/local.js';
import { HostSession } from '../../../src/core/host.js';
import type { Plan, Step, TaskModule } from '../../../src/contract/task.js';
import type { FactRequest } from '../../../src/contract/fact.js';
import { sh } from '../../../src/contract/quote.js';
import { ProvisionError, ValidationError } from '../../../src/contract/errors.js';
import { parseInventory } from '../../../src/core/inventory.js';
import { parsePlaybook } from '../../../src/core/playbook.js';
import { fileAt, type FileInfo } from '../../../src/facts/files.js';
import { homesFact, parseHomes } from '../../../src/facts/homes.js';
import type { HostFacts } from '../../../src/contract/host-facts.js';
import { unitName } from '../../../src/facts/services.js';
import { splitWords } from '../../../src/tasks/lib/args.js';
import { editLines } from '../../../src/tasks/lineinfile.js';
import { registry } from '../../../src/tasks/index.js';
import { sshd_config } from '../../../src/tasks/sshd_config.js';
import { TaskError } from '../../../src/contract/errors.js';
import { parseHostFacts } from '../../../src/facts/host.js';
import { parseIptablesFact, type IptablesSave } from '../../../src/facts/iptables.js';
import { parseListeners } from '../../../src/facts/listeners.js';
import { parseSshdFact, type SshdFacts } from '../../../src/facts/sshd.js';
import { parseHostKeysFact } from '../../../src/facts/hostkeys.js';
import { normaliseValue } from '../../../src/tasks/sysctl.js';
import { rebootCommand } from '../../../src/tasks/reboot.js';
import { iptables } from '../../../src/tasks/iptables.js';
import { saveString, tokenize } from '../../../src/tasks/lib/iptables.js';
import { BLOCK_BEGIN, BLOCK_END, renderBlock } from '../../../src/tasks/lib/sshd.js';
import { listeners as listenersTask } from '../../../src/tasks/listeners.js';
import { parseUfw } from '../../../src/facts/ufw.js';
import type { SelinuxFacts } from '../../../src/facts/selinux.js';
import { parseFirewalld } from '../../../src/facts/firewalld.js';
import { parseKeyFiles } from '../../../src/facts/keys.js';
import { ufw as ufwTask } from '../../../src/tasks/ufw.js';
import { firewalld as firewalldTask } from '../../../src/tasks/firewalld.js';
import { AUTO_UPGRADES, AUTO_UPGRADES_CONTENT, DNF_AUTOMATIC, PROVISION_UU, editIni } from '../../../src/tasks/unattended_upgrades.js';
import { fixture as sshdFixture } from '../../fixtures/facts/sshd/fact-output.js';
import { ctx as baseCtx, dirInfo, fileWith, host as debianHost, noManagers } from '../tasks/_helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = 20240611;
const params = { numRuns: RUNS, seed: SEED, endOnFailure: true } as const;
const SLOW = 60_000;

let root: string;
let bin: string;
let canary: string;
let rec: string;
let fakeHome: string;
let sysbin: string;
let work: string;
let counter = 0;
const savedPath = process.env.PATH;

/** Tools steps call that must never really run as root here: they record argv, cwd and stdin. */
const STUBS = [
  'recorder', 'useradd', 'usermod', 'userdel', 'gpasswd', 'chpasswd', 'groupadd', 'groupmod', 'groupdel', 'chown', 'chgrp', 'apt-get', 'dpkg', 'dnf', 'yum',
  'systemctl', 'service', 'update-rc.d', 'chkconfig', 'pkill', 'iptables-restore', 'iptables', 'ip6tables-restore',
  'restorecon', 'selinuxenabled', 'sshd', 'visudo', 'fail2ban-client', 'ufw', 'firewall-cmd', 'netfilter-persistent',
  'debconf-set-selections', 'iptables-save', 'ip6tables-save', 'sysctl', 'curl', 'shutdown', 'npm', 'semanage', 'setsebool', 'setenforce',
];
/** Stubs that take stdin (the restore script, debconf answers, passwords). */
const STDIN_STUBS = ['recorder', 'chpasswd', 'iptables-restore', 'ip6tables-restore', 'debconf-set-selections'];
/**
 * File tools for the tasks that write fixed system paths (/etc/fail2ban/jail.local,
 * /etc/iptables/rules.v4, /etc/apt/apt.conf.d/...): in a separate directory, first
 * in PATH only for those properties. mktemp records its template and makes the
 * temporary file in the work dir instead; mv, cp, chmod, mkdir only record, so
 * nothing under /etc of the dev box is touched and the file the step would have
 * renamed into place stays in the work dir to be read.
 */
const SYS_STUBS = ['mv', 'cp', 'chmod', 'mkdir'];
const HEAD = `#!/bin/sh
d=$(PATH=/usr/bin:/bin mktemp -d "$REC_DIR/call.XXXXXX") || exit 99
printf '%s' "\${0##*/}" > "$d/name"
for a in "$@"; do printf '%s\\0' "$a"; done > "$d/argv"
pwd > "$d/cwd"
`;
const RECORD = `${HEAD}cat > "$d/stdin" 2>/dev/null\n`;

function setupSandbox(): void {
  root = mkdtempSync(join(tmpdir(), 'provision-inject-'));
  bin = join(root, 'bin');
  rec = join(root, 'rec');
  fakeHome = join(root, 'home');
  canary = join(root, 'CANARY-RAN');
  sysbin = join(root, 'sysbin');
  for (const d of [bin, rec, fakeHome, sysbin]) mkdirSync(d, { recursive: true });
  // only these take stdin: a stub that swallowed it would hide what later commands get
  for (const s of STUBS) writeFileSync(join(bin, s), (STDIN_STUBS.includes(s) ? RECORD : HEAD) + (s === 'selinuxenabled' ? 'exit 1\n' : 'exit 0\n'), { mode: 0o755 });
  // iptables-save prints what the test put in $IPT_SAVE_OUT (the rules "running" at apply time)
  for (const s of ['iptables-save', 'ip6tables-save']) writeFileSync(join(bin, s), `${HEAD}cat "$IPT_SAVE_OUT" 2>/dev/null\nexit 0\n`, { mode: 0o755 });
  for (const s of SYS_STUBS) writeFileSync(join(sysbin, s), `${HEAD}exit 0\n`, { mode: 0o755 });
  writeFileSync(
    join(sysbin, 'mktemp'),
    `${HEAD}if [ "$1" = -d ]; then PATH=/usr/bin:/bin exec mktemp -d "$SYS_TMP/tmpd.XXXXXX"; fi\nPATH=/usr/bin:/bin exec mktemp "$SYS_TMP/tmpf.XXXXXX"\n`,
    { mode: 0o755 },
  );
  // getent passwd NAME: every user lives in the sandbox home; id -gn: a fixed group
  writeFileSync(join(bin, 'getent'), `${HEAD}printf '%s:x:1000:1000::%s:/bin/sh\\n' "$2" "$FAKE_HOME"\n`, { mode: 0o755 });
  writeFileSync(join(bin, 'id'), `#!/bin/sh\necho users\n`, { mode: 0o755 });
  // sudo: record, read the password line when -S, then run what follows `--`
  writeFileSync(
    join(bin, 'sudo'),
    `${HEAD}pw=0
while [ $# -gt 0 ] && [ "$1" != "--" ]; do [ "$1" = "-S" ] && pw=1; shift; done
shift
if [ $pw = 1 ]; then IFS= read -r line; printf '%s' "$line" > "$d/password"; fi
exec "$@"
`,
    { mode: 0o755 },
  );
}

interface Call {
  name: string;
  argv: string[];
  cwd: string;
  stdin: string;
}

function calls(): Call[] {
  return readdirSync(rec)
    .sort()
    .map((d) => {
      const p = join(rec, d);
      const argv = readFileSync(join(p, 'argv'), 'utf8');
      return {
        name: readFileSync(join(p, 'name'), 'utf8'),
        argv: argv === '' ? [] : argv.slice(0, -1).split('\0'),
        cwd: readFileSync(join(p, 'cwd'), 'utf8').replace(/\n$/, ''),
        stdin: existsSync(join(p, 'stdin')) ? readFileSync(join(p, 'stdin'), 'utf8') : '',
      };
    });
}

const env = (sys = false) => ({
  ...process.env,
  PATH: `${sys ? `${sysbin}:` : ''}${bin}:${savedPath}`,
  CANARY: canary,
  REC_DIR: rec,
  FAKE_HOME: fakeHome,
  SYS_TMP: work,
  IPT_SAVE_OUT: join(work, 'iptables-save.out'),
  LC_ALL: 'C.UTF-8',
});

/**
 * Run every step as the runner would (stdin, then the next step), with cwd = the work dir.
 * `sys`: with the file-tool stubs first in PATH (steps that write fixed /etc paths).
 */
function execSteps(steps: readonly Step[], sys = false): { code: number | null; stderr: string }[] {
  return steps.map((s) => {
    const r = spawnSync('/bin/sh', ['-c', s.command], { cwd: work, env: env(sys), input: s.stdin ?? '', encoding: 'utf8', timeout: 20_000 });
    return { code: r.status, stderr: r.stderr };
  });
}

function freshWork(): void {
  work = join(root, `w${++counter}`);
  mkdirSync(work);
  rmSync(rec, { recursive: true, force: true });
  mkdirSync(rec);
  rmSync(join(fakeHome, '.ssh'), { recursive: true, force: true });
}

function assertNoCanary(): void {
  expect(existsSync(canary), 'canary command ran: shell injection').toBe(false);
}

// ---- hostile strings ---------------------------------------------------------------

const FRAGMENTS = [
  "'", '"', "'\\''", '$(touch $CANARY)', '`touch $CANARY`', '; touch $CANARY', '\ntouch $CANARY\n', '&& touch $CANARY', '|| touch $CANARY',
  '| touch $CANARY', '>$CANARY', '$CANARY', '${CANARY}', '$IFS', '\\', '\\n', '-', '--', '-rf', '--help', '*', '?', '[a]', '~', '~root', '#', '!',
  '%s', '{{ x }}', ' ', '  ', '\t', '\r', '\n', 'é', '日本語', '😀', '\u202e', '\u00a0', '&', '%', '=', ',', ':', '@', 'a', 'Z9', '$((1+1))', '$0',
  '<(touch $CANARY)', '"$(touch $CANARY)"', "'$(touch $CANARY)'", '\\$(touch $CANARY)', '%(x)s', 'EOF', '\x1b[31m',
];

const hostile = fc
  .array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FRAGMENTS) }, { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: 'grapheme' }) }), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.join('').replace(/\0/g, ''))
  .filter((s) => s.length > 0);

/** One path component: no `/`, not `.`/`..`, short enough for NAME_MAX with the temp-file prefix. */
const component = hostile
  .map((s) => s.replace(/\//g, '|'))
  .filter((s) => s !== '.' && s !== '..' && Buffer.byteLength(s) < 180);

const noNewline = hostile.map((s) => s.replace(/[\n\r]/g, ' '));

// ---- planning -----------------------------------------------------------------------

type AnyModule = TaskModule;
const mod = (name: keyof typeof registry): AnyModule => registry[name] as unknown as AnyModule;

function planOf(m: AnyModule, raw: unknown, facts: Record<string, unknown>, host: HostFacts = debianHost): { plan?: Plan; invalid?: string } {
  const parsed = m.schema.safeParse(raw);
  if (!parsed.success) return { invalid: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { plan: m.plan(parsed.data as never, facts as never, { ...baseCtx, host }) };
}

/** The parsed arguments of a task type (they must be valid). */
const parseArgs = (name: keyof typeof registry, raw: unknown): Record<string, unknown> => mod(name).schema.parse(raw) as Record<string, unknown>;
/** The command of the fact `key` a task type reads for these arguments. */
const factStep = (name: keyof typeof registry, args: Record<string, unknown>, key: string): Step => ({ command: (mod(name).facts(args as never, baseCtx)[key] as FactRequest).command });

/** Schema only: the refusal message, or undefined when the arguments are accepted. */
function invalidOf(m: AnyModule, raw: unknown): string | undefined {
  const parsed = m.schema.safeParse(raw);
  return parsed.success ? undefined : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

function stepsOf(p: { plan?: Plan; invalid?: string }): readonly Step[] {
  if (p.invalid !== undefined) throw new Error(`unexpectedly invalid: ${p.invalid}`);
  if (p.plan?.kind !== 'change') throw new Error(`expected a change, got ${JSON.stringify(p.plan)}`);
  return p.plan.steps;
}

const existing = (path: string, content: string): FileInfo => {
  writeFileSync(join(work, path), content);
  return fileWith(content);
};

beforeAll(() => {
  setupSandbox();
  process.env.PATH = `${bin}:${savedPath}`;
  process.env.CANARY = canary;
  process.env.REC_DIR = rec;
  process.env.FAKE_HOME = fakeHome;
});
afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  rmSync(canary, { force: true });
});

describe('shell injection: every registered task type', () => {
  it('has an injection property below (new task types must be added here)', () => {
    const covered = [
      'command', 'shell', 'file', 'home_dirs', 'copy', 'template', 'lineinfile', 'package', 'apt', 'dnf', 'yum', 'service', 'systemd', 'systemd_service', 'user', 'group', 'stat', 'wait_for', 'ping', 'authorized_key', 'get_url',
      'sshd_config', 'iptables', 'firewall_persist', 'ufw', 'firewalld', 'fail2ban', 'unattended_upgrades', 'listeners', 'ssh_host_keys', 'sysctl',
      'apt_repository', 'apt_key', 'rpm_key', 'reboot',
      'set_fact', 'debug', 'assert', 'fail', 'meta', 'include_vars', 'script', 'cron', 'git', 'unarchive', 'npm',
      'seport', 'seboolean', 'selinux',
    ];
    const missing = Object.keys(registry).filter((k) => !covered.includes(k));
    expect(missing, `task types without an injection property in ${import.meta.url}`).toEqual([]);
  });

  it('set_fact, debug, assert, fail, meta, include_vars: run on the control machine, no step ever; hostile values come back literally', async () => {
    const outcome = (name: keyof typeof registry, raw: unknown): Plan | string => {
      try {
        const p = planOf(mod(name), raw, {});
        return p.invalid ?? (p.plan as Plan);
      } catch (err) {
        if (err instanceof TaskError || err instanceof ProvisionError) return err.message;
        throw err;
      }
    };
    fc.assert(
      fc.property(hostile, hostile, (value, text) => {
        const set = outcome('set_fact', { answer: value });
        const expected = ['true', 'yes'].includes(value.toLowerCase()) ? true : ['false', 'no'].includes(value.toLowerCase()) ? false : value;
        expect(set).toMatchObject({ kind: 'ok', control: { facts: { answer: expected } } });
        expect(outcome('debug', { msg: text })).toMatchObject({ kind: 'ok', reason: text, data: { msg: text } });
        expect(outcome('fail', { msg: text })).toBe(text);
        // a hostile expression is evaluated by the template engine (or refused by it), never by a shell
        const asserted = outcome('assert', { that: value, fail_msg: text });
        expect(typeof asserted === 'string' || asserted.kind === 'ok').toBe(true);
        const shown = outcome('debug', { var: value });
        expect(typeof shown === 'string' || shown.kind === 'ok').toBe(true);
        expect(typeof outcome('meta', { action: value }), 'an action other than the four is refused').toBe('string');
        assertNoCanary();
      }),
      params,
    );
    freshWork();
    for (const value of ['$(touch canary)', '`id`', '; rm -rf /', '../../../etc/passwd\n']) {
      const p = mod('include_vars');
      const args = p.schema.parse({ file: value });
      await expect(p.prepare?.(args as never, { ...baseCtx, searchDirs: { templates: [], files: [], vars: [work] } })).rejects.toThrow(`include_vars: ${value} not found`);
    }
    assertNoCanary();
  });

  it('command argv: each hostile word arrives as one argv element, chdir and stdin literal', () => {
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 0, maxLength: 4 }), component, fc.option(hostile, { nil: undefined }), (args, dir, stdin) => {
        freshWork();
        mkdirSync(join(work, dir));
        const steps = stepsOf(planOf(mod('command'), { argv: ['recorder', ...args], chdir: dir, ...(stdin !== undefined ? { stdin } : {}) }, {}));
        const res = execSteps(steps);
        expect(res[0]?.code, res[0]?.stderr).toBe(0);
        const [c] = calls();
        expect(c).toMatchObject({ name: 'recorder', argv: args, cwd: join(work, dir), stdin: stdin ?? '' });
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('command cmd: split like a shell, nothing expanded; unbalanced quotes are a TaskError', () => {
    fc.assert(
      fc.property(hostile, (line) => {
        freshWork();
        const cmd = `recorder ${line}`;
        let words: string[];
        try {
          words = splitWords(cmd);
        } catch (err) {
          expect((err as Error).message).toMatch(/unterminated (single|double) quote/);
          expect(() => planOf(mod('command'), cmd, {})).toThrow(/unterminated/);
          return;
        }
        const steps = stepsOf(planOf(mod('command'), cmd, {}));
        execSteps(steps);
        expect(calls()[0]?.argv).toEqual(words.slice(1));
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('shell: the script reaches the executable as ONE -c argument; executable, chdir, stdin literal', () => {
    fc.assert(
      fc.property(hostile, component, hostile, (script, dir, stdin) => {
        freshWork();
        mkdirSync(join(work, dir));
        const steps = stepsOf(planOf(mod('shell'), { cmd: script, executable: join(bin, 'recorder'), chdir: dir, stdin }, {}));
        execSteps(steps);
        expect(calls()).toMatchObject([{ name: 'recorder', argv: ['-c', script], cwd: join(work, dir), stdin }]);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('copy: hostile dest (even a leading -), content, owner, group arrive literally; no temp file left', () => {
    fc.assert(
      fc.property(component, hostile, fc.option(hostile, { nil: undefined }), fc.option(hostile, { nil: undefined }), fc.boolean(), fc.boolean(), (dest, content, owner, group, exists, backup) => {
        freshWork();
        const cur = exists ? existing(dest, 'old\n') : ({ exists: false } as FileInfo);
        const steps = stepsOf(planOf(mod('copy'), { dest, content, mode: '0640', backup, ...(owner ? { owner } : {}), ...(group ? { group } : {}) }, { dest: cur }));
        const res = execSteps(steps);
        expect(res[0]?.code, res[0]?.stderr).toBe(0);
        expect(readFileSync(join(work, dest), 'utf8')).toBe(content);
        const chown = calls().filter((c) => c.name === 'chown' || c.name === 'chgrp');
        if (owner !== undefined || group !== undefined) {
          const want = owner !== undefined && group !== undefined ? `${owner}:${group}` : (owner ?? group);
          expect(chown.some((c) => c.argv.length === 2 && c.argv[0] === want && c.argv[1]?.includes('.provision-'))).toBe(true);
        }
        const left = readdirSync(work).filter((f) => f.includes('.provision-'));
        expect(left).toEqual([]);
        if (backup && exists) expect(readdirSync(work).filter((f) => f.endsWith('.bak')).length).toBe(1);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('template: hostile variable values render into the file literally (stdin), hostile dest, owner, group', async () => {
    writeFileSync(join(root, 'hostile.j2'), 'v={{ v }}\n{% for x in xs %}[{{ x }}]\n{% endfor %}');
    await fc.assert(
      fc.asyncProperty(component, hostile, fc.array(hostile, { maxLength: 3 }), fc.option(hostile, { nil: undefined }), async (dest, v, xs, owner) => {
        freshWork();
        const m = mod('template');
        const args = m.schema.parse({ src: 'hostile.j2', dest, ...(owner ? { owner } : {}) });
        const ready = await m.prepare!(args, { ...baseCtx, vars: { v, xs }, searchDirs: { templates: [root], files: [] } });
        const plan = m.plan(ready as never, { dest: { exists: false } } as never, baseCtx);
        const res = execSteps(stepsOf({ plan }));
        expect(res[0]?.code, res[0]?.stderr).toBe(0);
        expect(readFileSync(join(work, dest), 'utf8')).toBe(`v=${v}\n${xs.map((x) => `[${x}]\n`).join('')}`);
        if (owner) expect(calls().find((c) => c.name === 'chown')?.argv[0]).toBe(owner);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('wait_for: hostile path, search_regex (escaped to match) and msg travel literally into grep, test and the failure message', () => {
    const escape = (t: string): string => t.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
    fc.assert(
      fc.property(component, noNewline, hostile, (name, line, msg) => {
        freshWork();
        const path = join(work, name);
        writeFileSync(path, `before\n${line}\nafter\n`);
        const found = planOf(mod('wait_for'), { path, search_regex: `^${escape(line)}$`, timeout: 0 }, {});
        if (found.invalid !== undefined) return; // a line JavaScript cannot read back as a regex: refused, nothing runs
        const p = found.plan as Extract<Plan, { kind: 'probe' }>;
        const ok = spawnSync('/bin/sh', ['-c', p.step.command], { cwd: work, env: env(), encoding: 'utf8', timeout: 20_000 });
        expect(ok.status, ok.stderr).toBe(0);
        expect(p.data?.(ok.stdout)).toMatchObject({ path, match_groups: [] });
        const missing = planOf(mod('wait_for'), { path: `${path}-missing`, timeout: 0, msg }, {}).plan as Extract<Plan, { kind: 'probe' }>;
        const failed = spawnSync('/bin/sh', ['-c', missing.checkStep.command], { cwd: work, env: env(), encoding: 'utf8', timeout: 20_000 });
        expect({ code: failed.status, stderr: failed.stderr }).toEqual({ code: 1, stderr: `${msg}\n` });
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('ping: nothing runs; any data is registered as it is', () => {
    fc.assert(
      fc.property(hostile, (data) => {
        const p = planOf(mod('ping'), { data }, {});
        if (data === 'crash') return;
        expect(p.plan).toMatchObject({ kind: 'ok', data: { ping: data } });
      }),
      params,
    );
  });

  it('authorized_key: hostile comment and key_options (one line) land literally in the file (stdin); hostile path; hostile users refused', () => {
    const userName = fc.stringMatching(/^[a-z_][a-z0-9_-]{0,20}$/);
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    fc.assert(
      fc.property(userName, component.map((c) => c.replace(/[\r\n]/g, ' ')), noNewline, noNewline, fc.boolean(), hostile, (user, name, comment, options, manage, bad) => {
        freshWork();
        const path = join(work, name);
        const cur = { exists: true, name: user, uid: 1001, gid: 1001, gecos: '', home: '/home/x', shell: '/bin/sh', primaryGroup: user, groups: [], password: null, authorizedKeys: null, keysFile: null, sshDir: null };
        const raw = { user, key: `${key} c`, path, comment, ...(options.trim() !== '' ? { key_options: options } : {}), manage_dir: manage };
        const refused = invalidOf(mod('authorized_key'), raw);
        if (refused !== undefined) {
          expect(refused).toMatch(/^key_options: not authorized_keys options/);
          return;
        }
        const res = execSteps(stepsOf(planOf(mod('authorized_key'), raw, { user: cur, file: { exists: false } })));
        expect(res.map((r) => r.code), res.map((r) => r.stderr).join('')).toEqual([0]);
        const opts = options.trim() !== '' ? `${options} ` : '';
        // lines are kept trimmed, as every authorized_keys line provision writes
        expect(readFileSync(path, 'utf8')).toBe(`${`${opts}${key}${comment !== '' ? ` ${comment}` : ''}`.trim()}\n`);
        expect(argvsOf('chown')).toEqual(sortArgvs([[`${user}:${user}`, expect.stringContaining('.provision-') as unknown as string], ...(manage ? [[`${user}:${user}`, work]] : [])]));
        if (!/^[a-z_][a-z0-9_-]*[$]?$/.test(bad) || bad.length > 32) expect(invalidOf(mod('authorized_key'), { user: bad, key })).toMatch(/^user: (not a valid user name|Too big)/);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('get_url: hostile URL, header values, user agent and dest reach curl as single argv elements; nothing runs', () => {
    const urlTail = hostile.map((t) => t.replace(/\s/g, '')).filter((t) => t.length > 0);
    fc.assert(
      fc.property(component, urlTail, noNewline, noNewline, (dest, tail, header, agent) => {
        freshWork();
        const url = `https://example.org/${tail}`;
        const raw = { url, dest: join(work, dest.replace(/[\r\n]/g, ' ')), headers: { 'X-Hostile': header }, ...(agent !== '' ? { http_agent: agent } : {}) };
        const p = planOf(mod('get_url'), raw, { dest: { exists: false } });
        if (p.invalid !== undefined) {
          expect(p.invalid).toMatch(/^(http_agent|dest): /);
          return;
        }
        const res = execSteps(stepsOf(p));
        expect(res[0]?.code, res[0]?.stderr).toBe(0);
        const curl = calls().find((c) => c.name === 'curl');
        expect(curl?.argv.slice(-2)).toEqual(['--', url]);
        expect(curl?.argv).toContain(`X-Hostile: ${header}`);
        if (agent !== '') expect(curl?.argv[curl.argv.indexOf('-A') + 1]).toBe(agent);
        expect(existsSync(raw.dest)).toBe(true);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('file: directory/touch/link/absent with hostile path, src, owner, group', () => {
    fc.assert(
      fc.property(component, hostile, fc.option(hostile, { nil: undefined }), fc.constantFrom('directory', 'touch', 'link', 'absent'), (path, src, owner, state) => {
        freshWork();
        let cur: FileInfo = { exists: false };
        if (state === 'absent') {
          mkdirSync(join(work, path));
          writeFileSync(join(work, path, 'inside'), 'x');
          cur = dirInfo();
        }
        const raw = { path, state, ...(state === 'link' ? { src } : {}), ...(owner ? { owner } : {}), ...(state === 'directory' ? { mode: 'u=rwx,g=rx' } : {}) };
        const steps = stepsOf(planOf(mod('file'), raw, { path: cur }));
        const res = execSteps(steps);
        expect(res[0]?.code, res[0]?.stderr).toBe(0);
        const p = join(work, path);
        if (state === 'directory') expect(readdirSync(work)).toEqual([path]);
        if (state === 'touch') expect(readFileSync(p, 'utf8')).toBe('');
        if (state === 'link') expect(readlinkSync(p)).toBe(src);
        if (state === 'absent') expect(existsSync(p)).toBe(false);
        if (owner && state !== 'absent') expect(calls().find((c) => c.name === 'chown')?.argv.slice(-2)).toEqual([owner, path]);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('home_dirs: hostile user names and home paths in /etc/passwd reach the fact and chmod literally', () => {
    // a passwd field holds anything but ':' and a newline; the home is absolute (a relative one is left alone)
    const field = component.map((s) => s.replace(/[:\n\r]/g, '_')).filter((s) => s.trim() !== '' && s !== '.' && s !== '..');
    const uid = process.getuid?.() ?? 0;
    fc.assert(
      fc.property(field, field, (user, name) => {
        freshWork();
        const home = join(work, name);
        mkdirSync(home);
        chmodSync(home, 0o777);
        writeFileSync(join(work, 'passwd'), `${user}:x:${uid}:${uid}::${home}:/bin/sh\n`);
        const command = homesFact.command({ uidMin: uid, uidMax: 60000 }).replace('/etc/passwd', 'passwd');
        const out = spawnSync('/bin/sh', ['-c', command], { cwd: work, env: env(), encoding: 'utf8' });
        const homes = parseHomes(out.stdout, out.status ?? -1);
        expect(homes.map((h) => [h.user, h.home])).toEqual([[user, home]]);
        const res = execSteps(stepsOf(planOf(mod('home_dirs'), { mode: 'g-w,o-rwx', uid_min: uid }, { homes })));
        expect(res[0]?.code, res[0]?.stderr).toBe(0);
        expect((statSync(home).mode & 0o7777).toString(8)).toBe('750');
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('lineinfile: hostile path, line and (escaped) regexp; the file ends exactly as planned', () => {
    fc.assert(
      fc.property(component, noNewline, noNewline, hostile, (path, line, old, rest) => {
        freshWork();
        const before = `${rest.replace(/\n/g, ' ')}\n${old}\n`;
        const cur = existing(path, before);
        const regexp = `^${old.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
        const args = { path, line, regexp };
        const p = planOf(mod('lineinfile'), args, { file: cur });
        if (p.plan?.kind === 'ok') return;
        execSteps(stepsOf(p));
        const expected = editLines(before, { path, line, regexp, state: 'present', firstmatch: false, create: false, backup: false } as never).content;
        expect(readFileSync(join(work, path), 'utf8')).toBe(expected);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('package, apt, dnf, yum: names the schema accepts reach apt-get or dnf as separate words; hostile names are refused', () => {
    const pkgName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9+._~-]{0,20}(:[a-z0-9_-]{1,6})?$/);
    const cases = [
      { task: 'package', host: debianHost, tool: 'apt-get' },
      { task: 'apt', host: debianHost, tool: 'apt-get' },
      { task: 'dnf', host: rockyHost, tool: 'dnf' },
      { task: 'yum', host: rockyHost, tool: 'dnf' },
    ] as const;
    fc.assert(
      fc.property(fc.uniqueArray(pkgName, { minLength: 1, maxLength: 4 }), hostile, fc.constantFrom(...cases), (names, bad, c) => {
        freshWork();
        const steps = stepsOf(planOf(mod(c.task), { name: names }, { installed: Object.fromEntries(names.map((n) => [n, null])) }, c.host));
        execSteps(steps);
        const install = calls().find((r) => r.name === c.tool && r.argv.includes('install'));
        expect(install?.argv.slice(-names.length)).toEqual(names);
        if (!/^[A-Za-z0-9][A-Za-z0-9+._~-]*(:[a-z0-9_-]+)?$/.test(bad)) {
          expect(planOf(mod(c.task), { name: bad }, {}, c.host).invalid).toMatch(/not a package name/);
        }
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('service: names the schema accepts reach systemctl as one word; hostile names are refused', () => {
    const svcName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.@:-]{0,30}$/);
    fc.assert(
      fc.property(svcName, hostile, (name, bad) => {
        freshWork();
        const facts = { svc: { manager: 'systemd', exists: true, active: false, enabled: false, masked: false, unitFileState: 'disabled' } };
        execSteps(stepsOf(planOf(mod('service'), { name, state: 'started' }, facts)));
        expect(calls().find((c) => c.name === 'systemctl')?.argv).toEqual(['start', '--', unitName(name)]);
        if (!/^[A-Za-z0-9_][A-Za-z0-9_.@:-]*$/.test(bad)) expect(planOf(mod('service'), { name: bad, state: 'started' }, facts).invalid).toMatch(/not a service name/);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('systemd, systemd_service, and service on a host without init: names reach systemctl mask / the init script / update-rc.d as one word', () => {
    const svcName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.@:-]{0,30}$/);
    const noInit: HostFacts = { ...debianHost, init: 'none', container: true };
    fc.assert(
      fc.property(svcName, hostile, (name, bad) => {
        freshWork();
        const facts = { svc: { manager: 'systemd', exists: true, active: true, enabled: true, masked: false, unitFileState: 'enabled', needsDaemonReload: true } };
        for (const task of ['systemd', 'systemd_service'] as const) {
          execSteps(stepsOf(planOf(mod(task), { name, masked: true, daemon_reload: true }, facts)));
          if (!/^[A-Za-z0-9_][A-Za-z0-9_.@:-]*$/.test(bad)) expect(planOf(mod(task), { name: bad, state: 'started' }, facts).invalid).toMatch(/not a service name/);
        }
        expect(sortArgvs(calls().filter((c) => c.name === 'systemctl').map((c) => c.argv))).toEqual(sortArgvs([['daemon-reload'], ['mask', '--', unitName(name)], ['daemon-reload'], ['mask', '--', unitName(name)]]));
        const script = { svc: { manager: 'none', exists: true, active: false, enabled: false, initScript: true, bootLinks: 'update-rc.d' } };
        const steps = stepsOf(planOf(mod('service'), { name, state: 'started', enabled: true }, script, noInit));
        expect(steps.map((st) => st.command)).toEqual([sh`update-rc.d ${name} defaults`, sh`/etc/init.d/${name} start`]);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('user: hostile shell/home (no whitespace), key comments and hash travel literally; hostile names refused', () => {
    const userName = fc.stringMatching(/^[a-z_][a-z0-9_-]{0,20}$/);
    const absPath = hostile.map((s) => `/${s.replace(/\s/g, '')}`);
    const key = (comment: string) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ${comment}`;
    fc.assert(
      fc.property(userName, absPath, absPath, noNewline, fc.boolean(), hostile, (name, shell, home, comment, exists, bad) => {
        freshWork();
        const hash = '$6$s4lt$Qx1cN3sCq7c0/3Yh8W7W2cHc4G3m2bT0Z2pQmQ0m1fL0n4rU8C2J0x5hM5p1O9c3bC4vZ6nJ3qW7t8s9r0e1a.';
        const cur = exists
          ? { exists: true, name, uid: 1001, gid: 1001, gecos: '', home: '/home/x', shell: '/bin/sh', primaryGroup: name, groups: [], password: { state: 'none', locked: true, hashDigest: null }, authorizedKeys: null, keysFile: null, sshDir: null }
          : { exists: false };
        const args = { name, shell, home, password: hash, authorized_keys: [key(comment.trim() || 'c')] };
        const res = execSteps(stepsOf(planOf(mod('user'), args, { user: cur })));
        expect(res.every((r) => r.code === 0), res.map((r) => r.stderr).join('')).toBe(true);
        const all = calls();
        const mod1 = all.find((c) => c.name === (exists ? 'usermod' : 'useradd'));
        expect(mod1?.argv).toEqual(exists ? ['-s', shell, '-d', home, name] : ['-s', shell, '-d', home, '-m', name]);
        expect(all.find((c) => c.name === 'chpasswd')?.stdin).toBe(`${name}:${hash}\n`);
        expect(readFileSync(join(fakeHome, '.ssh', 'authorized_keys'), 'utf8')).toBe(`${key(comment.trim() || 'c')}\n`);
        if (!/^[a-z_][a-z0-9_-]*[$]?$/.test(bad) || bad.length > 32) expect(planOf(mod('user'), { name: bad }, { user: cur }).invalid).toMatch(/not a valid user name|at most 32/);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('npm: a hostile package spec, version and project path reach npm as one argv element each, run in that directory', () => {
    const spec = hostile.map((t) => t.replace(/\s/g, '')).filter((t) => t.length > 0);
    fc.assert(
      fc.property(component, spec, noNewline, (dir, name, version) => {
        freshWork();
        const path = join(work, dir.replace(/[\r\n]/g, ' '));
        mkdirSync(path, { recursive: true });
        const none = { npm: { dependencies: {}, outdated: [] } };
        const installed = { npm: { dependencies: { [name]: { version: '0', missing: false, invalid: false } }, outdated: [] } };
        execSteps(stepsOf(planOf(mod('npm'), { name, version: version === '' ? 'v' : version, path }, none)));
        execSteps(stepsOf(planOf(mod('npm'), { name, path, state: 'absent' }, installed)));
        // the recorder's order is not the run's: install sorts before uninstall
        const npm = calls().filter((c) => c.name === 'npm').sort((a, b) => (a.argv[0] ?? '').localeCompare(b.argv[0] ?? ''));
        expect(npm.map((c) => c.argv)).toEqual([['install', `${name}@${version === '' ? 'v' : version}`], ['uninstall', name]]);
        expect(npm.map((c) => c.cwd)).toEqual([path, path]);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('group: names the schema accepts reach groupadd/groupmod/groupdel as one argv element; hostile names are refused', () => {
    const groupName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,30}$/);
    fc.assert(
      fc.property(groupName, fc.integer({ min: 0, max: 4294967294 }), hostile, (name, gid, bad) => {
        freshWork();
        execSteps(stepsOf(planOf(mod('group'), { name, gid, system: true }, { group: { exists: false } })));
        execSteps(stepsOf(planOf(mod('group'), { name, gid }, { group: { exists: true, name, gid: gid === 0 ? 1 : 0, members: [] } })));
        execSteps(stepsOf(planOf(mod('group'), { name, state: 'absent' }, { group: { exists: true, name, gid, members: [] } })));
        expect(argvsOf('groupadd')).toEqual([['-g', String(gid), '-r', name]]);
        expect(argvsOf('groupmod')).toEqual([['-g', String(gid), name]]);
        expect(argvsOf('groupdel')).toEqual([[name]]);
        if (!/^[A-Za-z_][A-Za-z0-9_.-]*[$]?$/.test(bad) || bad.length > 32) expect(invalidOf(mod('group'), { name: bad })).toMatch(/^name: (not a group name|Too big)/);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('script, cron, git, unarchive: hostile paths, names, jobs and versions travel literally into their fact commands and steps', () => {
    fc.assert(
      fc.property(component, noNewline, (name, line) => {
        freshWork();
        const dir = join(work, name);
        const commands: Step[] = [];
        const cronPlan = planOf(mod('cron'), { name: line, job: line, user: 'nobody' }, { crontab: { installed: true, lines: [] } });
        if (cronPlan.invalid === undefined) {
          const step = stepsOf(cronPlan)[0]!;
          expect(step.stdin).toBe(`#Ansible: ${line}\n* * * * * ${line}\n`);
          commands.push(step, factStep('cron', parseArgs('cron', { name: line, job: line, user: 'nobody' }), 'crontab'));
        }
        // URLs and these paths have no whitespace or newline (refused by the schemas): the rest of the hostile name stays
        const flat = join(work, name.replace(/\s/g, '_'));
        const repo = `file://${flat}`;
        commands.push(factStep('git', parseArgs('git', { repo, dest: flat, version: 'main' }), 'state'));
        commands.push(...stepsOf(planOf(mod('git'), { repo, dest: flat, version: 'main' }, { state: { git: true, modified: false, remote: { 'refs/heads/main': 'a'.repeat(40) } } })));
        const un = { src: `${flat}.tgz`, dest: flat, remote_src: true, owner: 'nobody' };
        commands.push(factStep('unarchive', parseArgs('unarchive', un), 'state'));
        commands.push(...stepsOf(planOf(mod('unarchive'), un, { state: { kind: 'compared', differences: ['x'], attrs: {} } })));
        const sc = { ...parseArgs('script', { cmd: 'x.sh', chdir: dir, executable: line, creates: dir }), script: 'true\n' };
        const scriptPlan = mod('script').plan(sc as never, { creates: { exists: false } } as never, baseCtx);
        if (scriptPlan.kind === 'change') commands.push(...scriptPlan.steps);
        execSteps(commands);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

});

// ---- the hardening tasks ------------------------------------------------------------

/** Hostile text that a "no control characters" schema accepts. */
const printable = hostile.map((s) => s.replace(/[\u0000-\u001f\u007f]/g, '')).filter((s) => s.length > 0);
const CONTROL = /[\u0000-\u001f\u007f]/;
/** A step command with the content's size and checksum blanked: what is left must not depend on the content. */
const skeleton = (steps: readonly Step[]): string[] => steps.map((s) => s.command.replace(/-eq \d+/g, '-eq N').replace(/\b[0-9a-f]{64}\b/g, 'SHA'));
/** The file a recording `mv -f -- TMP DEST` would have put at DEST (the temp file stays in the work dir). */
/** reboot's arguments as its schema reads them. */
function rebootCommandArgs(msg: string, delay: number): Parameters<typeof rebootCommand>[0] {
  return registry.reboot.schema.parse({ msg, pre_reboot_delay: delay }) as Parameters<typeof rebootCommand>[0];
}
function movedTo(dest: string): string | undefined {
  const mv = calls().filter((c) => c.name === 'mv' && c.argv.at(-1) === dest);
  expect(mv.length, `mv to ${dest}`).toBeLessThanOrEqual(1);
  const tmp = mv[0]?.argv.at(-2);
  if (tmp === undefined) return undefined;
  expect(tmp.startsWith(`${work}/tmpf.`), `temp file in the sandbox: ${tmp}`).toBe(true);
  return readFileSync(tmp, 'utf8');
}
/** argv of every call of `name`, in a stable order (recording directories are not chronological). */
const argvsOf = (name: string): string[][] => sortArgvs(calls().filter((c) => c.name === name).map((c) => c.argv));
const sortArgvs = (l: string[][]): string[][] => [...l].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
const allOk = (res: { code: number | null; stderr: string }[]) => expect(res.map((r) => r.code), res.map((r) => r.stderr).join('\n')).toEqual(res.map(() => 0));
const hostOf = (os: string[], kv: string[]): HostFacts =>
  parseHostFacts(['__osrelease_begin', ...os, '__osrelease_end', 'ssh_connection=10.0.0.1 50000 10.0.0.2 22', 'uid=0', 'user=root', 'hostname=h', ...kv].join('\n'));
const rockyHost = hostOf(['ID="rocky"', 'ID_LIKE="rhel centos fedora"', 'VERSION_ID="9.4"'], ['init=systemd', 'pm=dnf']);
const svcState = (active: boolean, enabled: boolean) => ({ manager: 'systemd', exists: true, active, enabled });
const iptFixture = (name: string): string => readFileSync(new URL(`../../fixtures/facts/iptables/${name}`, import.meta.url), 'utf8');
const iptFact = (text: string, v: 4 | 6 = 4): IptablesSave => parseIptablesFact(`__version=iptables v1.8.9 (nf_tables)\n__save_begin\n${text}__save_rc=0\n`, v);
/** Planning must end in a plan or a TaskError, never in another exception. */
function planOrTaskError(run: () => Plan): { plan?: Plan; error?: TaskError } {
  try {
    return { plan: run() };
  } catch (err) {
    expect(err, String(err)).toBeInstanceOf(TaskError);
    return { error: err as TaskError };
  }
}

describe('shell injection: hardening tasks', () => {
  /**
   * sshd_config: a hostile main file path (a component in the work dir, which the
   * task writes itself) and hostile values the schema accepts (Banner: any text
   * without control characters or outer whitespace; AllowUsers and Ciphers items:
   * no whitespace, comma or control character). The write (mktemp beside it,
   * `sshd -t -f TMP`, rename) and the reload step run for real with sshd and
   * systemctl stubbed: the file holds the values literally, one line each, in
   * the managed block at the top; sshd -t got the temp file as one argv word;
   * nothing ran. Raw hostile Banner values with control characters (newlines
   * would inject config lines) are refused by the schema.
   */
  it('sshd_config: hostile path and setting values land literally in the managed block; sshd -t gets the temp file', () => {
    const base = parseSshdFact(sshdFixture('debian12/fact.out'), '/etc/ssh/sshd_config');
    const item = hostile.map((s) => s.replace(/[\s,\u0000-\u001f\u007f]/g, '')).filter((s) => s.length > 0);
    const scalarValue = printable.map((s) => s.trim()).filter((s) => s.length > 0);
    fc.assert(
      fc.property(component, scalarValue, fc.array(item, { minLength: 1, maxLength: 3 }), fc.array(item, { minLength: 1, maxLength: 3 }), hostile, (name, banner, users, ciphers, raw) => {
        freshWork();
        const path = join(work, name);
        const text = base.main.text as string;
        writeFileSync(path, text);
        const relocate = (p: string) => (p === base.main.path ? path : p);
        const facts: SshdFacts = {
          ...base,
          main: { path, text },
          files: Object.fromEntries(Object.entries(base.files).map(([k, v]) => [relocate(k), { ...v, path: relocate(k) }])),
          order: base.order.map((e) => ({ ...e, path: relocate(e.path), ...(e.includedFrom ? { includedFrom: { ...e.includedFrom, path: relocate(e.includedFrom.path) } } : {}) })),
        };
        const args = { path, settings: { Banner: banner, AllowUsers: users, Ciphers: ciphers }, filter_algorithms: false };
        const steps = stepsOf(planOf(mod('sshd_config'), args, { sshd: facts, file: fileWith(text) }));
        allOk(execSteps(steps));
        const written = readFileSync(path, 'utf8');
        expect(written).toBe(steps[0]?.stdin);
        expect(written.split('\n').slice(0, 6)).toEqual([BLOCK_BEGIN, renderBlock({})[1], `Banner ${banner}`, `AllowUsers ${users.join(' ')}`, `Ciphers ${ciphers.join(',')}`, BLOCK_END]);
        expect(written.endsWith(text)).toBe(true);
        const sshd = argvsOf('sshd');
        // `sshd -t -f TMP` before the rename, `sshd -t` before the reload
        expect(sshd.map((a) => a.length).sort()).toEqual([1, 3]);
        expect(sshd.find((a) => a.length === 1)).toEqual(['-t']);
        const validate = sshd.find((a) => a.length === 3) ?? [];
        expect(validate.slice(0, 2)).toEqual(['-t', '-f']);
        expect(validate[2]?.startsWith(join(work, `.${name}.provision-`))).toBe(true);
        expect(argvsOf('systemctl')).toEqual(sortArgvs([['cat', 'ssh.service'], ['reload-or-try-restart', 'ssh.service']]));
        expect(readdirSync(work).filter((f) => f.includes('.provision-'))).toEqual([]);
        const bad = invalidOf(mod('sshd_config'), { path, settings: { Banner: raw } });
        if (CONTROL.test(raw)) expect(bad).toMatch(/must not contain newlines or other control characters/);
        else if (raw.trim() !== raw) expect(bad).toMatch(/must not start or end with whitespace/);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  /**
   * iptables: hostile `-m comment --comment "..."` and `-j LOG --log-prefix "..."`
   * texts (escaped for iptables-save syntax: backslash before `"` and `\`). The
   * only step is a constant `iptables-restore --noflush` command; the rules reach
   * it on stdin, run for real against the stub: the recorded stdin is the planned
   * script, and read back with the iptables-restore tokenizer each text is ONE
   * word, equal to the original. Texts with control characters (a newline would
   * add a line such as `-F OTHER` or `COMMIT` to the script) and unquoted texts
   * with a single quote are refused with a clear TaskError; any other refusal of
   * an unquoted hostile word is a TaskError too, never a crash.
   */
  it('iptables: hostile comment and log-prefix texts reach iptables-restore on stdin as one word each; control chars refused', () => {
    const empty = iptFact(iptFixture('debian12-empty.v4.txt'));
    const esc = (s: string) => s.replace(/["\\]/g, '\\$&');
    fc.assert(
      fc.property(hostile, hostile, hostile, (comment, prefix, bare) => {
        freshWork();
        const rules = [`-m comment --comment "${esc(comment)}" -j ACCEPT`, `-j LOG --log-prefix "${esc(prefix)}"`];
        const parsed = iptables.schema.safeParse({ chains: { INPUT: { rules } } });
        if (/[\x00-\x08\x0a-\x1f\x7f]/.test(comment + prefix)) {
          // refused by validation, before any plan
          expect(parsed.error?.issues[0]?.message).toMatch(/must be one line without control characters/);
        } else {
          const r = planOrTaskError(() => iptables.plan(parsed.data!, { save: empty, managers: noManagers }, baseCtx));
          const steps = stepsOf({ plan: r.plan as Plan });
          expect(steps.map((s) => s.command)).toEqual(['PATH="$PATH:/usr/sbin:/sbin" iptables-restore --noflush']);
          allOk(execSteps(steps));
          const restore = calls().filter((c) => c.name === 'iptables-restore');
          expect(restore).toMatchObject([{ argv: ['--noflush'], stdin: steps[0]?.stdin }]);
          const lines = (restore[0]?.stdin ?? '').split('\n');
          expect(lines[0]).toBe('*filter');
          expect(lines.filter((l) => l === 'COMMIT')).toHaveLength(1);
          const words = lines.filter((l) => l.startsWith('-A INPUT ')).map((l) => tokenize(l));
          expect(words).toHaveLength(2);
          expect(words[0]?.slice(0, 5)).toEqual(['-A', 'INPUT', '-m', 'comment', '--comment']);
          expect(words[0]?.slice(5)).toEqual([comment, '-j', 'ACCEPT']);
          expect(words[1]).toEqual(['-A', 'INPUT', '-j', 'LOG', '--log-prefix', prefix]);
        }
        // unquoted: whitespace splits words, so only a whitespace-free word is one value
        const word = bare.replace(/[\s"]/g, '') || 'x';
        const bare1 = iptables.schema.safeParse({ chains: { INPUT: { rules: [`-m comment --comment ${word} -j ACCEPT`] } } });
        const b: { plan?: Plan; error?: Error } = bare1.success ? planOrTaskError(() => iptables.plan(bare1.data, { save: empty, managers: noManagers }, baseCtx)) : { error: new Error(bare1.error.issues[0]?.message) };
        if (/[\x00-\x08\x0a-\x1f\x7f]/.test(word)) expect(b.error?.message).toMatch(/control characters/);
        else if (word.includes("'")) expect(b.error?.message).toMatch(/use double quotes \(iptables-save syntax\), not single quotes/);
        else if (b.plan) {
          const line = (stepsOf(b).at(0)?.stdin ?? '').split('\n').find((l) => l.startsWith('-A INPUT '));
          expect(tokenize(line ?? '')).toContain(word);
        }
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  /**
   * firewall_persist: its arguments are booleans; the hostile input is the host's
   * own ruleset (a rule comment as iptables-save prints it, newlines and all),
   * which the task saves to /etc/iptables/rules.v4. That path is fixed, so the
   * steps run with mktemp/mv/cp/chmod/mkdir stubbed (the temp file is made in the
   * work dir and read back after the recorded `mv` to the real path). Proves: the
   * ruleset travels only as stdin content (every command is the same as for a
   * benign ruleset, size and checksum aside), ends up in the file byte for byte,
   * and nothing ran. With ufw active (taken over) the rules are saved at apply time instead:
   * iptables-save's (hostile) output is redirected into the file, never evaluated.
   */
  it('firewall_persist: a hostile running ruleset is saved byte for byte, only ever on stdin', () => {
    const withRule = (text: string) => iptFixture('debian12-empty.v4.txt').replace('COMMIT\n', `-A INPUT -m comment --comment ${saveString(text)} -j ACCEPT\nCOMMIT\n`);
    fc.assert(
      fc.property(hostile, fc.boolean(), fc.boolean(), fc.boolean(), (text, fileExists, installed, ufwActive) => {
        freshWork();
        const facts = (save4: IptablesSave) => ({
          packages: { 'iptables-persistent': installed ? { version: '1.0.20' } : null },
          save4,
          file4: fileExists ? fileWith('old\n') : ({ exists: false } as FileInfo),
          boot4: svcState(false, true),
          managers: ufwActive ? { ...noManagers, ufw: { installed: true, enabled: true, active: true, masked: false } } : noManagers,
        });
        const args = { ipv6: false, firewall_manager: 'iptables' };
        const save = iptFact(withRule(text));
        const steps = stepsOf(planOf(mod('firewall_persist'), args, facts(save)));
        expect(skeleton(steps)).toEqual(skeleton(stepsOf(planOf(mod('firewall_persist'), args, facts(iptFact(withRule('x')))))));
        writeFileSync(join(work, 'iptables-save.out'), save.raw);
        allOk(execSteps(steps, true));
        expect(movedTo('/etc/iptables/rules.v4')).toBe(save.raw);
        expect(calls().find((c) => c.name === 'mktemp')?.argv.at(-1)).toMatch(/^\/etc\/iptables\/(\.rules\.v4|rules\.v4)\.provision-XXXXXX$/);
        if (ufwActive) expect(argvsOf('ufw')).toEqual([['--force', 'disable']]);
        if (!installed) expect(calls().find((c) => c.name === 'debconf-set-selections')?.stdin).toMatch(/autosave_v4 boolean false/);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  /**
   * fail2ban: the string arguments (ignoreip items, bantime, findtime, banaction)
   * are checked by the schema: hostile text is refused with a clear message
   * unless it fits the narrow pattern; values that fit (generated from the
   * patterns, e.g. `-x`, `a[b= -c]`) go only into /etc/fail2ban/jail.local, on
   * stdin. The steps (install, write with `fail2ban-client -t` validation on a
   * copy, enable, restart) run with apt-get, fail2ban-client, systemctl and the
   * file tools stubbed: the file holds each value literally on its line, every
   * command is the same as for benign values (size and checksum aside), and
   * nothing ran.
   */
  it('apt_repository: a hostile sources line lands literally in its .list file via stdin; apt-get update runs as itself', () => {
    fc.assert(
      fc.property(noNewline, (tail) => {
        freshWork();
        const repo = `deb [trusted=yes] http://example.org/${tail.replace(/\s/g, '_')} stable main`;
        const steps = stepsOf(planOf(mod('apt_repository'), { repo, filename: 'hostile' }, { sources: {} }));
        allOk(execSteps(steps, true));
        expect(movedTo('/etc/apt/sources.list.d/hostile.list')).toBe(`${repo}\n`);
        expect(argvsOf('apt-get').map((a) => a.filter((w) => w === 'update'))).toEqual([['update']]);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it("reboot: a hostile msg reaches shutdown as one argv element (the reboot's own commands are commands by design)", () => {
    fc.assert(
      fc.property(hostile, fc.integer({ min: 0, max: 7200 }), (msg, delay) => {
        freshWork();
        const args = rebootCommandArgs(msg, delay);
        allOk(execSteps([{ command: rebootCommand(args) }]));
        expect(argvsOf('shutdown')).toEqual([['-r', String(Math.floor(delay / 60)), msg]]);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('fail2ban: values the schema accepts land literally in jail.local via stdin; hostile ones are refused', () => {
    const ip = fc.stringMatching(/^[0-9A-Za-z:./_-]{1,30}$/);
    const tm = fc.stringMatching(/^(-1|(\d{1,3}(\.\d)?(s|m|h|d|w|mo|y|sec|min|hour|day|week|month|year)?){1,3})$/);
    const action = fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}(\[[A-Za-z0-9_=,. -]{0,20}\])?$/);
    fc.assert(
      fc.property(fc.array(ip, { maxLength: 3 }), tm, tm, action, hostile, fc.boolean(), (ignoreip, bantime, findtime, banaction, bad, installed) => {
        freshWork();
        const facts = {
          packages: installed ? { fail2ban: { version: '1' }, 'python3-systemd': { version: '1' } } : { fail2ban: null, 'python3-systemd': null },
          jail: fileWith('old\n'),
          authLog: { exists: false },
          service: svcState(true, true),
        };
        const args = { sshd_port: 22, ignoreip, bantime, findtime, banaction };
        const steps = stepsOf(planOf(mod('fail2ban'), args, facts));
        const benign = { sshd_port: 22, ignoreip: ignoreip.map(() => '10.0.0.1'), bantime: '1h', findtime: '1h', banaction: 'x' };
        expect(skeleton(steps)).toEqual(skeleton(stepsOf(planOf(mod('fail2ban'), benign, facts))));
        allOk(execSteps(steps, true));
        const jail = movedTo('/etc/fail2ban/jail.local') ?? '';
        expect(jail).toBe(steps.find((s) => s.stdin !== undefined)?.stdin);
        const lines = jail.split('\n');
        expect(lines).toContain(`bantime = ${bantime}`);
        expect(lines).toContain(`findtime = ${findtime}`);
        expect(lines).toContain(`banaction = ${banaction}`);
        expect(lines).toContain(`ignoreip = ${['127.0.0.1/8', '::1', ...ignoreip.filter((i) => i !== '127.0.0.1/8' && i !== '::1')].join(' ')}`);
        const client = calls().filter((c) => c.name === 'fail2ban-client');
        expect(client.map((c) => c.argv.slice(0, 1).concat(c.argv.slice(2)))).toEqual([['-c', '-t']]);
        expect(client[0]?.argv[1]?.startsWith(`${work}/tmpd.`)).toBe(true);
        expect(argvsOf('systemctl')).toEqual(sortArgvs([['enable', '--', 'fail2ban.service'], ['restart', '--', 'fail2ban.service']]));
        if (!/^[0-9A-Za-z:./_-]+$/.test(bad)) expect(invalidOf(mod('fail2ban'), { ignoreip: [bad] })).toMatch(/ignoreip\.0: an address, CIDR or host name/);
        if (!/^[A-Za-z0-9_.-]+(\[[A-Za-z0-9_=,. -]*\])?$/.test(bad)) expect(invalidOf(mod('fail2ban'), { banaction: bad })).toMatch(/banaction: an action name/);
        if (!/^(-1|(\d+(\.\d+)?(s|m|h|d|w|mo|y|sec|min|hour|day|week|month|year)?)+)$/.test(bad)) {
          expect(invalidOf(mod('fail2ban'), { bantime: bad, findtime: bad })).toMatch(/bantime: a fail2ban time like .*findtime: a fail2ban time like/);
        }
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  /**
   * unattended_upgrades: `reboot_time` is the only string argument; hostile ones
   * are refused ("a time like '02:00'"), valid ones land literally in
   * 52provision-unattended-upgrades (Debian). On RHEL the host's own
   * /etc/dnf/automatic.conf (hostile text from the fact) is edited by the pure
   * editIni and written back on stdin. Steps run with apt-get/dnf/systemctl and
   * the file tools stubbed: the files hold exactly the planned content, the
   * commands do not depend on it (size and checksum aside), nothing ran.
   */
  it('unattended_upgrades: reboot_time and a hostile dnf automatic.conf travel as file content only', () => {
    const time = fc.stringMatching(/^(([01]\d|2[0-3]):[0-5]\d|now)$/);
    fc.assert(
      fc.property(time, hostile, hostile, fc.boolean(), fc.boolean(), (rebootTime, bad, conf, rhel, installed) => {
        freshWork();
        if (rhel) {
          const current = `[commands]\n${conf}\n`;
          const facts = (text: string) => ({ packages: { 'dnf-automatic': installed ? { version: '4' } : null }, conf: fileWith(text), timer: svcState(false, false) });
          const args = { reboot: true, reboot_time: rebootTime };
          const steps = stepsOf(planOf(mod('unattended_upgrades'), args, facts(current), rockyHost));
          expect(skeleton(steps)).toEqual(skeleton(stepsOf(planOf(mod('unattended_upgrades'), args, facts('[commands]\nx\n'), rockyHost))));
          const edited = editIni(current, 'commands', [['upgrade_type', 'security'], ['download_updates', 'yes'], ['apply_updates', 'yes'], ['reboot', 'when-needed']]);
          allOk(execSteps(steps, true));
          expect(movedTo(DNF_AUTOMATIC)).toBe(edited);
          expect(argvsOf('systemctl')).toEqual(sortArgvs([['enable', '--', 'dnf-automatic.timer'], ['start', '--', 'dnf-automatic.timer']]));
        } else {
          const facts = { packages: { 'unattended-upgrades': installed ? { version: '2' } : null }, auto: { exists: false }, conf: fileWith(conf) };
          const steps = stepsOf(planOf(mod('unattended_upgrades'), { reboot: true, reboot_time: rebootTime }, facts));
          expect(skeleton(steps)).toEqual(skeleton(stepsOf(planOf(mod('unattended_upgrades'), { reboot: true, reboot_time: '02:00' }, facts))));
          allOk(execSteps(steps, true));
          expect(movedTo(AUTO_UPGRADES)).toBe(AUTO_UPGRADES_CONTENT);
          expect(movedTo(PROVISION_UU)?.split('\n')).toContain(`Unattended-Upgrade::Automatic-Reboot-Time "${rebootTime}";`);
          if (!installed) expect(calls().find((c) => c.name === 'apt-get' && c.argv.includes('install'))?.argv.at(-1)).toBe('unattended-upgrades');
        }
        if (!/^(([01]\d|2[0-3]):[0-5]\d|now)$/.test(bad)) expect(invalidOf(mod('unattended_upgrades'), { reboot_time: bad })).toMatch(/reboot_time: a time like '02:00' \(or 'now'\)/);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  /**
   * listeners: no steps, nothing runs on the host. Hostile process names in the
   * `ss` output (no newline: ss prints one socket per line; no `"` or `\`, which
   * the users:(("...")) syntax cannot carry unambiguously) and hostile allow
   * entries: planning ends in ok, a check-mode change without steps, or a
   * TaskError (an allow entry with whitespace or `/`, or E_LISTENERS), and every
   * unexpected listener's name appears literally in the message.
   */
  it('listeners: hostile process names and allow entries give ok/change/TaskError naming them literally', () => {
    const procName = noNewline.map((s) => s.replace(/["\\]/g, '')).filter((s) => s.length > 0);
    fc.assert(
      fc.property(fc.array(procName, { minLength: 1, maxLength: 3 }), fc.array(hostile, { maxLength: 3 }), fc.constantFrom('report', 'fail'), fc.boolean(), (names, allow, state, check) => {
        const out = names.map((n, i) => `tcp LISTEN 0 128 0.0.0.0:${8000 + i} 0.0.0.0:* users:(("${n}",pid=${100 + i},fd=3))`);
        const info = parseListeners(`__tool=ss\n${out.join('\n')}\n`);
        expect(info.listeners.map((l) => l.process)).toEqual(names);
        const args = listenersTask.schema.parse({ allow, state });
        const r = planOrTaskError(() => listenersTask.plan(args, { info }, { ...baseCtx, check }));
        const badEntry = allow.find((e) => !/^\d{1,5}(\/(tcp|udp))?$/i.test(e.trim()) && /[\s/]/.test(e));
        const unexpected = names.filter((n, i) => !allow.some((e) => e === n || (/^\d{1,5}(\/tcp)?$/i.test(e.trim()) && Number(e.trim().split('/')[0]) === 8000 + i)));
        const text = r.error?.message ?? (r.plan?.kind === 'change' ? r.plan.summary : r.plan && 'reason' in r.plan ? r.plan.reason : '');
        if (badEntry !== undefined) {
          expect(r.error?.message).toContain(JSON.stringify(badEntry));
          return;
        }
        if (r.error) expect(r.error.code).toBe('E_LISTENERS');
        if (r.plan?.kind === 'change') expect(r.plan.steps).toEqual([]);
        for (const n of unexpected) expect(text).toContain(`(${n} pid `);
        if (unexpected.length === 0) expect(r.plan?.kind).toBe('ok');
      }),
      params,
    );
  });
});

describe('shell injection: ufw and firewalld', () => {
  /**
   * ufw: the free texts (comment, application profile name) reach the ufw
   * stub as one argv word each, and the undo recorded for the rollback is
   * inert outside one; addresses and interfaces are single words without
   * quotes, others refused by the schema.
   */
  it('ufw: hostile comment and profile name reach ufw as one argv word each; hostile addresses are refused', () => {
    const fresh = parseUfw('__absent\n');
    fc.assert(
      fc.property(hostile, hostile, hostile, (comment, app, addr) => {
        freshWork();
        const a = ufwTask.schema.parse({ rule: 'allow', name: app, comment });
        const steps = stepsOf({ plan: ufwTask.plan(a, { ufw: fresh, managers: noManagers }, { ...baseCtx, check: true }) });
        allOk(execSteps(steps));
        expect(calls().filter((c) => c.name === 'ufw').map((c) => c.argv)).toEqual([['allow', 'in', 'from', 'any', 'to', 'any', 'app', app, 'comment', comment]]);
        const bad = ufwTask.schema.safeParse({ rule: 'allow', from_ip: addr });
        if (!/^[^\s'"\\]+$/.test(addr)) expect(bad.error?.issues[0]?.message).toMatch(/one word without quotes or spaces/);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  /** firewalld: a rich rule (any one-line text) reaches firewall-cmd as one argv word; service names and zones are refused unless plain. */
  it('firewalld: a hostile rich rule reaches firewall-cmd as one argv word; hostile service and zone names are refused', () => {
    const running = parseFirewalld('__addr\n__running\n__runtime\npublic\npublic (active)\n  target: default\n  services: ssh\n');
    fc.assert(
      fc.property(hostile, hostile, (rule, name) => {
        freshWork();
        const parsed = firewalldTask.schema.safeParse({ rich_rule: rule, state: 'enabled' });
        if (/[\x00-\x1f]/.test(rule)) expect(parsed.error?.issues[0]?.message).toBe('one line');
        else {
          allOk(execSteps(stepsOf({ plan: firewalldTask.plan(parsed.data!, { fw: running, managers: noManagers }, baseCtx) })));
          expect(calls().filter((c) => c.name === 'firewall-cmd').map((c) => c.argv)).toEqual([['--zone=public', `--add-rich-rule=${rule}`]]);
        }
        if (!/^[A-Za-z0-9_.:/-]+$/.test(name)) {
          expect(firewalldTask.schema.safeParse({ service: name, state: 'enabled' }).success).toBe(false);
          expect(firewalldTask.schema.safeParse({ service: 'http', zone: name, state: 'enabled' }).success).toBe(false);
        }
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);
});

describe('shell injection: kernel parameters', () => {
  /**
   * sysctl: a hostile value (no control characters: a newline would add lines
   * to the file) goes into the sysctl file only as content on stdin, and
   * reaches `sysctl -w` as ONE argv word `NAME=VALUE`; a hostile file name (a
   * component in the work dir) is written literally and given to `sysctl -p`
   * as one word. The steps run for real with sysctl stubbed. Hostile names are
   * refused by the schema (a name is letters, digits and `_ . : @ / -`, not
   * starting with `-`), and so are values with control characters.
   */
  it('sysctl: hostile values land literally in the file and in sysctl -w; hostile names and control characters are refused', () => {
    const value = printable.filter((v) => v.trim() !== '');
    fc.assert(
      fc.property(component, value, hostile, (fileName, raw, bad) => {
        freshWork();
        const path = join(work, fileName);
        const want = normaliseValue(raw);
        const steps = stepsOf(planOf(mod('sysctl'), { name: 'net.ipv4.ip_forward', value: raw, sysctl_file: path, sysctl_set: true }, { file: { exists: false }, running: `${want}x` }));
        allOk(execSteps(steps));
        expect(readFileSync(path, 'utf8')).toBe(`net.ipv4.ip_forward=${want}\n`);
        expect(argvsOf('sysctl')).toEqual(sortArgvs([['-w', `net.ipv4.ip_forward=${want}`], ['-p', path]]));
        if (!/^[A-Za-z0-9_][A-Za-z0-9_.:@/-]*$/.test(bad)) expect(invalidOf(mod('sysctl'), { name: bad, value: 1 })).toMatch(/^name: a kernel parameter name/);
        // the value is trimmed first, as Ansible does: control characters only at its ends go
        if (CONTROL.test(bad.trim())) expect(invalidOf(mod('sysctl'), { name: 'a.b', value: bad })).toMatch(/value must not contain newlines/);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);
});

describe('shell injection: SELinux', () => {
  /**
   * seport, seboolean, selinux: the SELinux type, the boolean name and the
   * policy are held to the policy's spelling (letters, digits, `_`; a policy
   * also `.` and `-`, not first), and ports to numbers and ranges, so a hostile
   * value is refused by the schema, naming the argument. Accepted values reach
   * semanage / setsebool / setenforce (stubbed) as one argv word each when the
   * steps run; a hostile config file name (a component in the work dir) is
   * written literally with SELINUX= and SELINUXTYPE= set.
   */
  const word = fc.stringMatching(/^[A-Za-z0-9_]{1,20}$/);
  const enforcing: SelinuxFacts = { mode: 'enforcing', semanage: true, labels: [], local: [] };
  it('seport and seboolean: hostile types, names and ports are refused; accepted ones are one argv word each', () => {
    fc.assert(
      fc.property(hostile, word, fc.integer({ min: 1, max: 65535 }), fc.boolean(), (bad, type, port, on) => {
        freshWork();
        if (!/^[A-Za-z0-9_]+$/.test(bad)) {
          expect(invalidOf(mod('seport'), { ports: 22, proto: 'tcp', setype: bad })).toMatch(/^setype: an SELinux type/);
          expect(invalidOf(mod('seboolean'), { name: bad, state: true })).toMatch(/^name: an SELinux boolean name/);
        }
        if (!/^\d+(-\d+)?$/.test(bad.trim())) expect(invalidOf(mod('seport'), { ports: bad, proto: 'udp', setype: 'x_t' })).toMatch(/^ports: .* is not a port or a range/);
        allOk(execSteps(stepsOf(planOf(mod('seport'), { ports: [port], proto: 'udp', setype: type, reload: false }, { selinux: enforcing }))));
        allOk(execSteps(stepsOf(planOf(mod('seboolean'), { name: type, state: on, persistent: true }, { bool: { mode: 'enforcing', running: !on, semanage: true, stored: !on } }))));
        expect(argvsOf('semanage')).toEqual([['port', '-a', '-N', '-t', type, '-p', 'udp', String(port)]]);
        expect(argvsOf('setsebool')).toEqual([['-P', type, on ? 'on' : 'off']]);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('selinux: a hostile config file name is written literally; hostile policies are refused; setenforce gets one word', () => {
    fc.assert(
      fc.property(component, hostile, (fileName, bad) => {
        freshWork();
        const path = join(work, fileName);
        const file = existing(fileName, 'SELINUX=disabled\nSELINUXTYPE=targeted\n');
        allOk(execSteps(stepsOf(planOf(mod('selinux'), { state: 'enforcing', policy: 'targeted', configfile: path }, { mode: 'permissive', file, policyDir: { exists: false } }))));
        expect(readFileSync(path, 'utf8')).toBe('SELINUX=enforcing\nSELINUXTYPE=targeted\n');
        expect(argvsOf('setenforce')).toEqual([['1']]);
        if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(bad)) expect(invalidOf(mod('selinux'), { state: 'permissive', policy: bad })).toMatch(/^policy: a policy name/);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);
});

describe('shell injection: tasks without text arguments', () => {
  /**
   * ssh_host_keys: no argument is text. A hostile string as any argument (or as
   * a key type) is refused by the schema, naming the argument. Accepted values
   * are enum words and integers, and reach the steps only as `ssh-keygen -t
   * TYPE -b BITS` and the moduli size in awk: with the numbers masked, the steps
   * are those of the defaults. The steps are not executed here: they remove and
   * write fixed paths under /etc/ssh of this very machine.
   */
  it('ssh_host_keys: hostile values are refused; accepted ones reach the steps only as key types and numbers', () => {
    const keys = parseHostKeysFact(readFileSync(new URL('../../fixtures/facts/hostkeys/debian12-fresh.txt', import.meta.url), 'utf8'));
    const sshd = parseSshdFact(sshdFixture('debian12/fact.out'), '/etc/ssh/sshd_config');
    const text = (types: string[], rsa: number, moduli: number) => {
      const steps = stepsOf(planOf(mod('ssh_host_keys'), { types, rsa_bits: rsa, moduli_min_bits: moduli }, { keys, sshd }));
      expect(steps.every((st) => st.stdin === undefined)).toBe(true);
      return steps.map((st) => st.command).join('\n').split(` -b ${rsa} `).join(' -b BITS ').split(`< ${moduli})`).join('< BITS)');
    };
    const kinds = ['ed25519', 'rsa', 'ecdsa'];
    fc.assert(
      fc.property(hostile, fc.constantFrom('types', 'rsa_bits', 'moduli_min_bits'), fc.subarray(kinds, { minLength: 1 }), fc.integer({ min: 3073, max: 16384 }), fc.integer({ min: 2048, max: 8192 }), (bad, key, types, rsa, moduli) => {
        if (!kinds.includes(bad)) expect(invalidOf(mod('ssh_host_keys'), { [key]: key === 'types' ? [bad] : bad })).toMatch(new RegExp(`^${key}`));
        expect(text(types, rsa, moduli)).toBe(text(types, 4096, 3072));
      }),
      params,
    );
  });
});

describe('shell injection: through the runner\'s exec path (sudo + timeout wrapping, fact scripts)', () => {
  const hostFacts = (user: string): HostFacts => ({ ...debianHost, user, sudoNoPassword: false });

  it('sudo -S with a hostile password and a hostile command: password only on stdin, argv literal', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 3 }), noNewline, hostile, async (args, password, stdin) => {
        freshWork();
        const session = new HostSession('h', new LocalConnection('h'), password);
        // connected as deploy: known, not gathered here (this machine's own user would answer)
        session.facts = hostFacts('deploy');
        session.gathered = true;
        const res = await session.exec(sh`recorder ${args}`, { become: true, becomeUser: 'root', stdin, timeoutMs: 20_000 });
        expect(res.code, res.stderr).toBe(0);
        const all = calls();
        const sudo = all.find((c) => c.name === 'sudo');
        expect(sudo?.argv.join(' ')).not.toContain(password.length >= 2 ? password : '\u0000');
        expect(readFileSync(join(rec, readdirSync(rec).sort().find((d) => existsSync(join(rec, d, 'password')))!, 'password'), 'utf8')).toBe(password);
        expect(all.find((c) => c.name === 'recorder')).toMatchObject({ argv: args, stdin });
        assertNoCanary();
      }),
      { ...params, numRuns: Math.max(10, Math.floor(RUNS / 2)) },
    );
  }, SLOW);

  it('stat: the fact script with a hostile path (and link target) reads that path, runs nothing; the task has no steps', async () => {
    await fc.assert(
      fc.asyncProperty(component, hostile, component, async (name, content, target) => {
        freshWork();
        const path = join(work, name);
        writeFileSync(path, content);
        const link = join(work, `${name}-link`);
        symlinkSync(target, link);
        const session = new HostSession('h', new LocalConnection('h'), undefined);
        session.facts = hostFacts('root');
        const m = mod('stat');
        const facts = m.facts(m.schema.parse({ path, checksum_algorithm: 'sha256' }), baseCtx) as Record<string, FactRequest>;
        const linkFacts = m.facts(m.schema.parse({ path: link }), baseCtx) as Record<string, FactRequest>;
        const values = await session.readFacts([...Object.values(facts), ...Object.values(linkFacts)], { become: false, becomeUser: 'root' });
        expect(values.get(facts.stat!.id)).toMatchObject({ exists: true, isreg: true, size: Buffer.byteLength(content), checksum: createHash('sha256').update(content).digest('hex') });
        expect(values.get(linkFacts.stat!.id)).toMatchObject({ exists: true, islnk: true, lnk_target: target });
        const plan = m.plan(m.schema.parse({ path }) as never, { stat: values.get(facts.stat!.id), file: values.get(facts.file!.id) } as never, baseCtx);
        expect(plan.kind).toBe('ok');
        assertNoCanary();
      }),
      { ...params, numRuns: Math.max(10, Math.floor(RUNS / 2)) },
    );
  }, SLOW);

  it('file fact scripts with hostile paths read the right file and run nothing', async () => {
    await fc.assert(
      fc.asyncProperty(component, hostile, async (name, content) => {
        freshWork();
        const path = join(work, name);
        writeFileSync(path, content);
        const session = new HostSession('h', new LocalConnection('h'), undefined);
        session.facts = hostFacts('root');
        const req = fileAt(path);
        const missing = fileAt(join(work, `${name}-missing`));
        const values = await session.readFacts([req, missing], { become: false, becomeUser: 'root' });
        expect(values.get(req.id)).toMatchObject({ exists: true, type: 'file', size: Buffer.byteLength(content) });
        expect(values.get(missing.id)).toEqual({ exists: false });
        assertNoCanary();
      }),
      { ...params, numRuns: Math.max(10, Math.floor(RUNS / 2)) },
    );
  }, SLOW);
});

describe('shell injection: OpenPGP keys', () => {
  const keyText = readFileSync(new URL('../../fixtures/keys/a.asc', import.meta.url), 'utf8');
  const keyB64 = Buffer.from(keyText).toString('base64');
  const urlTail = hostile.map((t) => t.replace(/\s/g, '')).filter((t) => t.length > 0);
  /** A fact command run by /bin/sh in the sandbox: its stdout. */
  const factOut = (step: Step): string => spawnSync('/bin/sh', ['-c', step.command], { cwd: work, env: env(), encoding: 'utf8', timeout: 20_000 }).stdout;
  beforeAll(() => writeFileSync(join(bin, 'rpm'), `${HEAD}exit 0\n`, { mode: 0o755 }));
  afterAll(() => rmSync(join(bin, 'rpm'), { force: true }));

  it('apt_key: a hostile keyring path and URL reach curl and the file tools as single argv elements; the keyring holds the key, absent removes only it', () => {
    fc.assert(
      fc.property(component, urlTail, (name, tail) => {
        freshWork();
        const keyring = join(work, `${name.replace(/[\r\n]/g, ' ')}.asc`);
        const url = `https://example.org/${tail}`;
        const args = parseArgs('apt_key', { url, keyring });
        writeFileSync(keyring, 'old');
        expect(parseKeyFiles(factOut(factStep('apt_key', args, 'files')))).toEqual({ [keyring]: Buffer.from('old').toString('base64') });
        factOut(factStep('apt_key', args, 'source'));
        expect(calls().find((c) => c.name === 'curl')?.argv.slice(-2)).toEqual(['--', url]);
        allOk(execSteps(stepsOf(planOf(mod('apt_key'), { url, keyring }, { files: {}, source: { base64: keyB64 } }))));
        expect(readFileSync(keyring, 'utf8')).toBe(keyText);
        allOk(execSteps(stepsOf(planOf(mod('apt_key'), { url, keyring, state: 'absent' }, { files: { [keyring]: keyB64 } }))));
        expect(readdirSync(work).filter((f) => !f.startsWith('.'))).toEqual([]);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);

  it('rpm_key: a hostile key path and URL reach base64 and curl as single argv elements; rpm --import gets a temporary file', () => {
    fc.assert(
      fc.property(component, urlTail, (name, tail) => {
        freshWork();
        const path = join(work, name.replace(/[\r\n]/g, ' '));
        writeFileSync(path, keyText);
        expect(parseKeyFiles(factOut(factStep('rpm_key', parseArgs('rpm_key', { key: path }), 'source')))).toEqual({ [path]: keyB64 });
        const url = `https://example.org/${tail}`;
        factOut(factStep('rpm_key', parseArgs('rpm_key', { key: url }), 'source'));
        expect(calls().find((c) => c.name === 'curl')?.argv.slice(-2)).toEqual(['--', url]);
        allOk(execSteps(stepsOf(planOf(mod('rpm_key'), { key: path }, { installed: [], source: { [path]: keyB64 } }, rockyHost))));
        expect(argvsOf('rpm')).toEqual([['--import', expect.stringMatching(/^\/[^\n]*tmp[^\n]*$/) as unknown as string]]);
        assertNoCanary();
      }),
      params,
    );
  }, SLOW);
});

describe('invalid values are refused at validation with a clear message', () => {
  /** The playbook loader is the validation users meet: located, readable messages. */
  const refusal = (task: string, args: string): string => {
    try {
      parsePlaybook(`- hosts: all\n  tasks:\n    - ${task}: ${args}\n`, 'pb.yaml', registry);
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return (err as Error).message;
    }
    return '';
  };
  const USER_MSG = 'not a valid user name (lower case letters, digits, _ and -, at most 32)';

  it('user name with a space, $(), a leading - or too long; shell, groups, password', () => {
    expect(refusal("user", "{ name: \"bad user\" }")).not.toBe("");
    for (const bad of ['bad user', '$(touch /tmp/x)', '-rf', 'root;id', 'a\nb']) {
      expect(refusal('user', `{ name: ${JSON.stringify(bad)} }`)).toContain(`pb.yaml:3:21 [0].tasks[0].user.name: ${USER_MSG}`);
    }
    expect(refusal('user', `{ name: ${'a'.repeat(33)} }`)).toMatch(/user\.name: must be at most 32 characters, got 33/);
    expect(refusal('user', '{ name: ok, shell: "/bin/sh -c x" }')).toMatch(/user\.shell: an absolute path/);
    expect(refusal('user', '{ name: ok, groups: ["wheel;id"] }')).toMatch(/user\.groups\[0\]: not a group name/);
    expect(refusal('user', '{ name: ok, password: plaintext }')).toMatch(/user\.password: must be a crypt hash like \$6\$salt\$hash/);
  });

  it('package and service names that look like options or carry shell', () => {
    expect(refusal('package', '{ name: "-oAPT::x=1" }')).toMatch(/package\.name: not a package name/);
    expect(refusal('package', '{ name: [nginx, "curl;id"] }')).toMatch(/not a package name/);
    expect(refusal('service', '{ name: "--now", state: started }')).toMatch(/service\.name: not a service name/);
    expect(refusal('service', '{ name: "ssh sshd", state: started }')).toMatch(/service\.name: not a service name/);
  });

  it('lineinfile line with a newline, copy validate without %s', () => {
    expect(refusal('lineinfile', '{ path: /etc/x, line: "a\\nb" }')).toMatch(/lineinfile\.line: line must be a single line/);
    expect(refusal('copy', '{ dest: /etc/x, content: "", validate: "visudo -c" }')).toMatch(/copy\.validate: validate must contain %s/);
  });

  it('an sshd setting value with a newline (sshd_config schema)', () => {
    const reg = { ...registry, sshd_config } as unknown as typeof registry;
    let msg = '';
    try {
      parsePlaybook('- hosts: all\n  tasks:\n    - sshd_config: { settings: { PermitRootLogin: "no\\nPasswordAuthentication yes" } }\n', 'pb.yaml', reg);
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/pb\.yaml:3:\d+ .*PermitRootLogin: must not contain newlines or other control characters \(they would inject sshd_config lines\)/);
  });

  it('a port of 70000 in the inventory', () => {
    expect(() => parseInventory('all:\n  hosts:\n    web1:\n      port: 70000\n', 'inv.yaml')).toThrow(/inv\.yaml:4:\d+ .*port: must be at most 65535, got 70000/);
  });
});

