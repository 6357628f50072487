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

describe('no_log, loop labels and transformed secrets', () => {
  it('a no_log task and a labelled loop show no value in any output; a secret is masked after upper, b64encode, quote and a line break', async () => {
    // names that do not mark these values secret: only no_log and the label keep them out
    const HASH = '$6$rounds=5000$Salty$hAsHvAlUe0123456789';
    const PW = { alice: 'alice-Pw-4d5e6f7a', bob: 'bob-Pw-8b9c0d1e' };
    const TOKEN = 'apitok-Zq8Wx2Lm5Np7';
    const target = join(dir, 'nolog');
    const pb = join(dir, 'nolog.yaml');
    writeFileSync(
      pb,
      `- hosts: all
  vars:
    admin_hash: '${HASH}'
    people: [{ name: alice, pw: ${PW.alice} }, { name: bob, pw: ${PW.bob} }]
    api_token: ${TOKEN}
  tasks:
    - copy: { dest: ${target}.conf, content: "hash={{ admin_hash }}\\n" }
      no_log: true
    - name: print the hash
      shell: 'echo "{{ admin_hash }}"; echo "stderr {{ admin_hash }}" >&2; exit 4'
      no_log: true
      ignore_errors: true
    - name: per person
      command: { argv: ["true", "{{ item.name }}"] }
      loop: "{{ people }}"
      loop_control: { label: "{{ item.name }}" }
    - name: looped and no_log without a label
      command: { argv: ["true", "{{ item.pw }}"] }
      loop: "{{ people }}"
      no_log: true
    - name: transformed token
      shell: |
        echo {{ api_token | upper }}
        echo {{ api_token | b64encode }}
        echo {{ api_token | quote }}
        t={{ api_token }}; printf '%s\\n  %s\\n' "$(echo "$t" | cut -c1-9)" "$(echo "$t" | cut -c10-)"
`,
    );
    const reports = Object.keys(reportFormats).map((f) => ({ f, file: join(dir, `nolog.${f}`) }));
    const log = join(dir, 'nolog.log');
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (s) => out.push(s), err: (s) => err.push(s), stdout: { isTTY: false }, env: process.env, onInterrupt: () => () => {} };
    const code = await run(['-i', 'localhost,', '-v', '--diff', ...reports.flatMap((r) => ['--report', `${r.f}=${r.file}`]), '--log-file', log, '--log-level', 'debug', pb], io);
    const outputs: Record<string, string> = { stdout: out.join(''), stderr: err.join(''), log: readFileSync(log, 'utf8') };
    for (const r of reports) outputs[`report ${r.f}`] = readFileSync(r.file, 'utf8');

    // the tasks really ran with the values
    expect(code, outputs.stdout).toBe(0);
    expect(readFileSync(`${target}.conf`, 'utf8')).toBe(`hash=${HASH}\n`);
    // status and names stay visible; the marker stands where the output was
    expect(outputs.stdout).toMatch(/changed\s+localhost\s+copy \(arguments hidden: no_log\)/);
    expect(outputs.stdout).toMatch(/failed \(ignored\)\s+localhost\s+print the hash — \(output hidden: no_log\)/);
    expect(outputs.stdout).toContain('(output hidden: no_log)');
    expect(outputs.stdout).toMatch(/per person \(alice\)/);
    expect(outputs.stdout).toMatch(/per person \(bob\)/);

    const values = [HASH, HASH.slice(3, 20), ...Object.values(PW), TOKEN, TOKEN.toUpperCase(), Buffer.from(TOKEN).toString('base64'), TOKEN.slice(0, 9) + '\n  ' + TOKEN.slice(9)];
    const leaks: string[] = [];
    for (const [name, text] of Object.entries(outputs)) {
      for (const v of values) for (const form of forms(v)) if (text.includes(form)) leaks.push(`${name}: ${JSON.stringify(form)}`);
      // a label shows the name only, never the record (which an unlabelled loop item would show whole)
      if (/"pw"/.test(text)) leaks.push(`${name}: a loop record`);
    }
    expect(leaks).toEqual([]);
  });
});
