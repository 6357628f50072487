/**
 * `wait_for`: wait on the host until a TCP port opens or closes, a file
 * appears, holds a text or goes away, or a port's connections drain; without
 * port or path, just sleep `timeout` seconds. As Ansible's wait_for: `delay`
 * counts inside `timeout`, the condition is tried every `sleep` seconds, the
 * registered result has `elapsed` (whole seconds), `state`, `port`, `path`,
 * `search_regex`, `match_groups` and `match_groupdict`.
 *
 * It runs on the host as one step (a POSIX sh loop with its own deadline:
 * bash's /dev/tcp or nc for TCP, `grep -P` for search_regex, `ss` for
 * drained), so the connection carries no polling. Check mode asks once,
 * without waiting (see the probe plan in contract/task.ts).
 *
 * Differences from Ansible, refused rather than done differently:
 * search_regex is a Perl-compatible regular expression that JavaScript must
 * read too (match_groups are computed from the matched text); it is matched
 * line by line in what a port sends (a file is searched whole, multiline);
 * arguments Ansible ignores in a combination (search_regex with stopped or
 * absent, host with path) are refused; exclude_hosts and
 * active_connection_states are not supported.
 */
import { z } from 'zod';
import { defineTask, type Plan, type RegisterData } from '../contract/task.js';
import { quote } from '../contract/quote.js';

/** Python's `(?P<name>…)` and `(?P=name)` in JavaScript's spelling. */
const jsRegex = (re: string): RegExp => new RegExp(re.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>'), 'm');

const argsSchema = z
  .object({
    host: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]+$/, 'a host name or an IP address')
      .optional()
      .describe('Host to connect to for port, default 127.0.0.1 (the host itself)'),
    port: z.number().int().min(1).max(65535).optional().describe('TCP port to wait for'),
    path: z.string().min(1).optional().describe('File to wait for (present, with search_regex: holding a match; absent: gone)'),
    state: z
      .enum(['started', 'present', 'stopped', 'absent', 'drained'])
      .default('started')
      .describe('started/present: open port or existing file; stopped: closed port; absent: file gone; drained: no active connections on port'),
    timeout: z.number().int().min(0).default(300).describe('Seconds to wait at most (delay included); without port or path: seconds to sleep'),
    connect_timeout: z.number().int().min(1).default(5).describe('Seconds one TCP connection attempt may take'),
    delay: z.number().int().min(0).default(0).describe('Seconds to wait before the first try'),
    sleep: z.number().int().min(0).default(1).describe('Seconds between tries'),
    search_regex: z
      .string()
      .min(1)
      .refine(
        (re) => {
          try {
            jsRegex(re);
            return true;
          } catch {
            return false;
          }
        },
        { message: 'not a regular expression provision can match (Perl-compatible syntax, as in Python)' },
      )
      .optional()
      .describe('Regular expression to find in the file, or in what the port sends'),
    msg: z.string().min(1).optional().describe('Message of the failure instead of the default one'),
  })
  .strict()
  .refine((a) => a.port === undefined || a.path === undefined, { message: 'port and path parameter can not both be passed to wait_for', path: ['path'] })
  .refine((a) => a.path === undefined || (a.state !== 'stopped' && a.state !== 'drained'), {
    message: 'state=stopped and state=drained should only be used for checking a port (use absent for a file)',
    path: ['state'],
  })
  .refine((a) => a.port !== undefined || a.state !== 'drained', { message: 'state=drained needs port', path: ['state'] })
  .refine((a) => a.search_regex === undefined || ((a.state === 'started' || a.state === 'present') && (a.port !== undefined || a.path !== undefined)), {
    message: 'search_regex is only used with port or path and state started or present',
    path: ['search_regex'],
  })
  .refine((a) => a.host === undefined || a.path === undefined, { message: 'host is only used with port', path: ['host'] });

export type WaitForArgs = z.output<typeof argsSchema>;

const STATES_DRAINING = ['established', 'fin-wait-1', 'fin-wait-2', 'syn-recv', 'syn-sent', 'time-wait'];

/** The condition as a shell compound command; with search_regex it leaves the matched text in "$m" (base64). */
function condition(a: WaitForArgs): string {
  const re = a.search_regex;
  if (a.path !== undefined) {
    const p = quote(a.path);
    if (a.state === 'absent') return `[ ! -e ${p} ]`;
    if (re === undefined) return `[ -e ${p} ]`;
    // the whole file, multiline, as Python's re.search(re, data, re.M); the first match is kept
    const whole = quote(`(?m)${re}`);
    return `{ [ -e ${p} ] && grep -qzP -- ${whole} ${p} && m=$(grep -ozP -- ${whole} ${p} | head -z -n 1 | tr -d '\\000' | base64 | tr -d '\\n'); }`;
  }
  if (a.port !== undefined) {
    if (a.state === 'drained') {
      return `[ -z "$(ss -Htan ${STATES_DRAINING.map((s) => `state ${s}`).join(' ')} ${quote(`( sport = :${a.port} )`)})" ]`;
    }
    const open = `tcp ${a.connect_timeout}`;
    if (a.state === 'stopped') return `! ${open}`;
    if (re === undefined) return open;
    // what the port sends, until the deadline, line by line; the first matching line is kept
    return `{ t=$((end - $(date +%s))); [ "$t" -ge 1 ] || t=1; l=$(tcpread "$t" | grep -m 1 -P -- ${quote(re)}) && m=$(printf '%s' "$l" | base64 | tr -d '\\n'); }`;
  }
  return 'true';
}

/** Ansible's failure messages. */
function failure(a: WaitForArgs, host: string): string {
  if (a.msg !== undefined) return a.msg;
  if (a.port !== undefined) {
    if (a.state === 'stopped') return `Timeout when waiting for ${host}:${a.port} to stop.`;
    if (a.state === 'drained') return `Timeout when waiting for ${host}:${a.port} to drain`;
    return a.search_regex !== undefined ? `Timeout when waiting for search string ${a.search_regex} in ${host}:${a.port}` : `Timeout when waiting for ${host}:${a.port}`;
  }
  if (a.state === 'absent') return `Timeout when waiting for ${a.path} to be absent.`;
  return a.search_regex !== undefined ? `Timeout when waiting for search string ${a.search_regex} in ${a.path}` : `Timeout when waiting for file ${a.path}`;
}

/** TCP helpers: bash's /dev/tcp, else nc; neither is an error that says so. */
function tcpHelpers(host: string, port: number): string[] {
  const need = `echo 'wait_for: the host has neither bash nor nc to open a TCP connection' >&2; exit 2`;
  const dev = quote(`/dev/tcp/${host}/${port}`);
  return [
    `tcp() { if command -v bash >/dev/null 2>&1; then timeout "$1" bash -c 'exec 3<>"$0"' ${dev} 2>/dev/null; elif command -v nc >/dev/null 2>&1; then nc -z -w "$1" ${quote(host)} ${port} 2>/dev/null; else ${need}; fi; }`,
    `tcpread() { if command -v bash >/dev/null 2>&1; then timeout "$1" bash -c 'exec 3<>"$0" && cat <&3' ${dev} 2>/dev/null; elif command -v nc >/dev/null 2>&1; then timeout "$1" nc -w "$1" ${quote(host)} ${port} </dev/null 2>/dev/null; else ${need}; fi; }`,
  ];
}

/**
 * The loop: start, delay, then try until the deadline; on success print
 * `elapsed=` (and `match=`, base64). `once`: a single try, no delay (check mode).
 */
export function waitScript(a: WaitForArgs, once: boolean): string {
  const host = a.host ?? '127.0.0.1';
  const lines = [...(a.port !== undefined ? tcpHelpers(host, a.port) : [])];
  if (a.search_regex !== undefined) {
    lines.push(`echo | grep -qP '' 2>/dev/null || { echo 'wait_for: search_regex needs grep -P (GNU grep with PCRE) on the host' >&2; exit 2; }`);
  }
  lines.push('start=$(date +%s)', `end=$((start + ${once ? 0 : a.timeout}))`, 'm=');
  if (a.port === undefined && a.path === undefined) {
    // nothing to wait for: sleep the timeout, as Ansible
    if (!once) lines.push(`sleep ${a.delay + a.timeout}`);
    lines.push('echo "elapsed=$(($(date +%s) - start))"');
    return lines.join('\n');
  }
  if (!once && a.delay > 0) lines.push(`sleep ${a.delay}`);
  lines.push(
    'while :; do',
    `  if ${condition(a)}; then echo "elapsed=$(($(date +%s) - start))"; echo "match=$m"; exit 0; fi`,
    `  [ "$(date +%s)" -lt "$end" ] || { printf '%s\\n' ${quote(failure(a, host))} >&2; exit 1; }`,
    `  sleep ${a.sleep}`,
    'done',
  );
  return lines.join('\n');
}

/** The registered result: Ansible's keys, the match groups computed from the matched text. */
function resultOf(a: WaitForArgs, stdout: string): RegisterData {
  const get = (k: string): string | undefined => stdout.split('\n').find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1);
  const matched = get('match') ? Buffer.from(get('match') as string, 'base64').toString('utf8') : undefined;
  const m = matched !== undefined && a.search_regex !== undefined ? jsRegex(a.search_regex).exec(matched) : null;
  return {
    elapsed: Number(get('elapsed') ?? 0),
    state: a.state,
    port: a.port ?? null,
    path: a.path ?? null,
    search_regex: a.search_regex ?? null,
    match_groups: m ? m.slice(1).map((g) => g ?? null) : [],
    match_groupdict: m?.groups ? Object.fromEntries(Object.entries(m.groups).map(([k, v]) => [k, v ?? null])) : {},
  };
}

function summary(a: WaitForArgs): string {
  const host = a.host ?? '127.0.0.1';
  if (a.port !== undefined) {
    const what = { started: 'open', present: 'open', stopped: 'closed', absent: 'closed', drained: 'drained of connections' }[a.state];
    return `port ${a.port} on ${host} ${what}${a.search_regex !== undefined ? `, sending a match for ${a.search_regex}` : ''}`;
  }
  if (a.path !== undefined) return a.state === 'absent' ? `${a.path} is absent` : `${a.path} exists${a.search_regex !== undefined ? ` and matches ${a.search_regex}` : ''}`;
  return `sleep ${a.delay + a.timeout} s`;
}

export const waitFor = defineTask({
  name: 'wait_for',
  description: 'Wait on the host for a TCP port to open, close or drain, or a file to appear, match or go away (or just sleep)',
  example:
    "- name: App listens\n  wait_for: { port: 8080, timeout: 60 }\n- name: Migration finished\n  wait_for: { path: /var/log/app/migrate.log, search_regex: 'done in (\\d+) s' }\n  register: migration",
  schema: argsSchema,
  facts: () => ({}),
  plan(a): Plan {
    // the step's own timeout: the loop's deadline, plus the last try and some slack
    const slack = a.connect_timeout + a.sleep + 30;
    return {
      kind: 'probe',
      summary: summary(a),
      step: { command: waitScript(a, false), timeoutMs: (a.delay + a.timeout + slack) * 1000 },
      checkStep: { command: waitScript(a, true), timeoutMs: slack * 1000 },
      data: (stdout) => resultOf(a, stdout),
    };
  },
});
