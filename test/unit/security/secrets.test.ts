/**
 * Secrets never leave the process: a playbook with an inventory
 * become_password_env and password_env, an extra var db_password and a play
 * var api_token runs through the CLI on the local connection under --verbose
 * --diff, every registered report format, and a debug log file. Tasks put the
 * secrets in a diff, in command output, in a failure message, in a loop item
 * and in shell-quoted command text. No output may contain any secret, raw or
 * in the escaped forms the outputs use (JSON, HTML/XML, shell quoting).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, type Io } from '../../../src/cli/program.js';
import { reportFormats } from '../../../src/reporters/index.js';

const dir = mkdtempSync(join(tmpdir(), 'provision-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRETS = {
  become: 'Become-Pass-7f3a9c',
  ssh: 'Ssh-Pass-c0ffee42',
  db: `p@ss'w"rd<&>-db-91`,
  api: 'apitok-9f8e7d6c5b4a',
};

/** The forms a secret takes in the outputs: raw, JSON string, HTML/XML text, shell single-quoted. */
function forms(s: string): string[] {
  const html = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  const xml = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
  return [...new Set([s, JSON.stringify(s).slice(1, -1), html, xml, s.replace(/'/g, `'\\''`), s.replace(/'/g, `'"'"'`)])];
}

/** The longest piece of `s` between characters that outputs escape: a leak of any of them is a leak. */
function fragments(s: string): string[] {
  return s.split(/['"<>&\\]/).filter((p) => p.length >= 4);
}

describe('secrets are masked in every output', () => {
  it('stdout, stderr, every report format and the debug log', async () => {
    const target = join(dir, 'target');
    const inv = join(dir, 'inv.yaml');
    writeFileSync(
      inv,
      `all:
  hosts:
    localhost:
      connection: local
      become_password_env: T_BECOME
      password_env: T_SSH
`,
    );
    const pb = join(dir, 'site.yaml');
    writeFileSync(
      pb,
      `- hosts: all
  vars:
    api_token: ${SECRETS.api}
  tasks:
    - name: config with secrets (diff)
      copy:
        dest: ${target}.conf
        content: |
          db_password={{ db_password }}
          token={{ api_token }}
    - name: line with a secret (diff)
      lineinfile: { path: ${target}.conf, line: "again={{ db_password }}" }
    - name: print secrets (verbose output)
      shell: 'echo "token {{ api_token }}"; echo "become $T_BECOME ssh $T_SSH" >&2'
    - name: argv with a secret (shell-quoted in the summary)
      command:
        argv: [sh, -c, 'echo "$1"; echo "failed for $1" >&2; exit 3', x, "{{ db_password }}"]
      ignore_errors: true
    - name: loop over secrets
      command: { argv: ["true", "{{ item }}"] }
      loop: ["{{ db_password }}", "{{ api_token }}"]
    - name: failure whose message holds the secret
      shell: 'echo "cannot connect with {{ api_token }}" >&2; exit 2'
`,
    );
    const reports = Object.keys(reportFormats).map((f) => ({ f, file: join(dir, `report.${f}`) }));
    const log = join(dir, 'run.log');
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
      stdout: { isTTY: false },
      env: { ...process.env, T_BECOME: SECRETS.become, T_SSH: SECRETS.ssh },
      onInterrupt: () => () => {},
    };
    // the local connection's shell inherits the process environment
    process.env.T_BECOME = SECRETS.become;
    process.env.T_SSH = SECRETS.ssh;
    let code: number;
    try {
      code = await run(
        ['-i', inv, '--verbose', '--diff', '-e', `db_password=${JSON.stringify(SECRETS.db)}`, ...reports.flatMap((r) => ['--report', `${r.f}=${r.file}`]), '--log-file', log, '--log-level', 'debug', pb],
        io,
      );
    } finally {
      delete process.env.T_BECOME;
      delete process.env.T_SSH;
    }
    const outputs: Record<string, string> = { stdout: out.join(''), stderr: err.join(''), log: readFileSync(log, 'utf8') };
    for (const r of reports) outputs[`report ${r.f}`] = readFileSync(r.file, 'utf8');

    // the run did what it should: the secrets reached the host, the last task failed
    expect(code, outputs.stdout).toBe(2);
    expect(readFileSync(`${target}.conf`, 'utf8')).toBe(`db_password=${SECRETS.db}\ntoken=${SECRETS.api}\nagain=${SECRETS.db}\n`);
    expect(outputs.stdout).toContain('********');
    expect(outputs.stdout).toMatch(/cannot connect with \*{8}/);
    expect(outputs.log).toMatch(/"level":20/); // debug records were written

    const leaks: string[] = [];
    for (const [name, text] of Object.entries(outputs)) {
      for (const [which, secret] of Object.entries(SECRETS)) {
        for (const form of [...forms(secret), ...fragments(secret)]) if (text.includes(form)) leaks.push(`${name}: ${which} as ${JSON.stringify(form)}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
