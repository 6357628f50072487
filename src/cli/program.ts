/**
 * Thin command line over the library API: parse flags, wire reporters, map
 * errors to exit codes. No provisioning logic lives here. The API and the
 * terminal reporters are imported when a command runs, not at start-up, so
 * `provision --version` loads neither the schemas nor ssh2.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { AdhocApiOptions, ProvisionOptions } from '../api-core.js';
import { ProvisionError, ValidationError, errorMessage } from '../contract/errors.js';
import { VERSION } from '../contract/version.js';
import { EXIT } from '../core/results.js';
import { Secrets } from '../core/secrets.js';
import { parseShard, type Shard } from '../core/shard.js';
import { checkReportTargets, parseReportTarget, reportFormats, writeReports } from '../reporters/index.js';
import { colorWanted, makeStyle } from '../reporters/style.js';
import { escapeControls } from '../reporters/text.js';

// the API without the full task registry: a command imports the task types its playbooks use
const api = () => import('../api-core.js');

const EXIT_CODES_HELP = `
Exit codes:
  0    success; in check mode: no drift
  1    internal error (a bug: please report it with --log-level debug output)
  2    a task failed, or the playbook/inventory/flags are invalid
  3    check mode found drift (a host differs from the playbook)
  4    a host was unreachable (and nothing failed)
  130  interrupted (Ctrl-C)`;

const EXAMPLES = `
Examples:
  Audit this machine against the hardening baseline, changing nothing:
    provision --check -i localhost, playbooks/harden.yaml
  Harden two servers, showing what changes in each file:
    provision -i web1.example.com,web2.example.com, -u admin -b --diff playbooks/harden.yaml
  Run from CI with an inventory file and a JSON report:
    provision -i inventory.yaml --report json=report.json site.yaml
  Only the hosts of group "web", only tasks tagged "ssh":
    provision -i inventory.yaml --limit web --tags ssh site.yaml
  Validate files without contacting any host:
    provision validate -i inventory.yaml site.yaml`;

function intArg(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const collectList = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

interface RunFlags {
  inventory: string[];
  check?: boolean;
  diff?: boolean;
  limit?: string;
  tags?: string[];
  skipTags?: string[];
  extraVars?: string[];
  forks: number;
  timeout: number;
  report?: string[];
  verbose?: boolean;
  quiet?: boolean;
  color?: boolean;
  logLevel?: string;
  logFile?: string;
  user?: string;
  privateKey?: string;
  become?: boolean;
  hostKeyPolicy?: 'strict' | 'accept-new';
  listHosts?: boolean;
  listTasks?: boolean;
  lockoutProtection: boolean;
  rollbackTimeout?: number;
  allowLockout?: boolean;
  shard?: Shard;
  progress?: 'auto' | 'live' | 'lines';
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  stdout: { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  /** Installs a Ctrl-C handler; returns a remover. */
  onInterrupt: (handler: () => void) => () => void;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  stdout: process.stdout,
  env: process.env,
  onInterrupt: (handler) => {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
};

function runOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-i, --inventory <source>', 'inventory file, or a comma list of hosts ("web1,db1," or "localhost," for this machine); repeatable', collect)
    .option('-C, --check', 'check mode: read-only audit; report what would change (drift) and change nothing')
    .option('-D, --diff', 'show before/after diffs of files and settings')
    .option('-l, --limit <pattern>', 'only hosts matching this pattern too (all, group, host, glob, a:b, a:&b, a:!b)')
    .option('-t, --tags <tags>', 'only tasks with one of these tags (comma list; repeatable)', collectList)
    .option('--skip-tags <tags>', 'skip tasks with one of these tags (comma list; repeatable)', collectList)
    .option('-e, --extra-vars <vars>', 'variables with the highest precedence: key=value, @file.yaml, or a YAML/JSON mapping; repeatable', collect)
    .option('-f, --forks <n>', 'hosts worked on in parallel', intArg(1, 10_000), 256)
    .option('--timeout <seconds>', 'default timeout of one task step (0: none)', intArg(0, 86_400), 0)
    .addOption(new Option('--report <format=file>', `write a report when the run ends; repeatable; formats: ${Object.keys(reportFormats).join(', ')}`).argParser(collect))
    .option('-v, --verbose', 'also show why tasks were ok or skipped, and command output')
    .option('-q, --quiet', 'only show failures and the recap, at the end')
    .option('--no-color', 'no colours (also: NO_COLOR=1; colours are off when output is not a terminal)')
    .addOption(new Option('--log-level <level>', 'structured log level (logs go to --log-file, or stderr)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .option('--log-file <file>', 'write structured JSON logs (pino) to this file; secrets are masked')
    .option('-u, --user <user>', 'connect as this user where the inventory says none')
    .option('--private-key <file>', 'identity file where the inventory gives none')
    .option('-b, --become', 'run tasks with sudo where the play does not say')
    .addOption(new Option('--host-key-policy <policy>', 'unknown SSH host keys: refuse (strict) or record on first use (accept-new); changed keys are always refused').choices(['strict', 'accept-new']))
    .option('--no-lockout-protection', 'apply firewall/sshd/login-user changes directly, without snapshot, armed rollback and confirmation over a new connection')
    .option('--rollback-timeout <seconds>', 'seconds after which a host restores its snapshot unless a new connection confirmed the change (default: the play\'s, 120)', intArg(10, 3600))
    .option('--allow-lockout', 'apply changes the pre-flight says would cut the current SSH connection (the rollback still guards them)')
    .option('--list-hosts', 'print the hosts each play selects, then exit')
    .option('--list-tasks', 'print the tasks of each play, then exit')
      .option('--shard <k/n>', 'run only slice K of N of the selected hosts (sorted names, round-robin); merge the JSON reports with "provision report merge"', (v: string) => parseShard(v))
    .addOption(
      new Option('--progress <mode>', 'output while running: live (redrawn status lines), lines (a line per task), auto (live on a terminal unless --verbose, --diff or --quiet)')
        .choices(['auto', 'live', 'lines'])
        .default('auto'),
    );
}

export async function run(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  let exitCode = 0;
  // the task types are listed in help only: their names (no task module) load when help is asked for
  const helpAsked = argv.some((a) => a === '-h' || a === '--help' || a === 'help');
  const taskTypes = helpAsked ? Object.keys((await import('../tasks/catalog.js')).taskLoaders).join(', ') : '';
  const program = new Command('provision')
    .description(
      'Agentless provisioning over SSH: bring hosts to the state a YAML playbook describes, changing only what differs.\n\n' +
        'Usage: provision [run] -i INVENTORY [options] PLAYBOOK...   (every flag: provision run --help)',
    )
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  runOptions(program.command('run', { isDefault: true }))
    .description('run playbooks against the hosts of an inventory (the default command)')
    .argument('<playbook...>', 'playbook files, run in order')
    .addHelpText('after', `${EXAMPLES}\n${EXIT_CODES_HELP}\n\nTask types: ${taskTypes}. See README.md for their arguments.`)
    .action(async (playbooks: string[], flags: RunFlags) => {
      exitCode = await runCommand(playbooks, flags, io);
    });

  program
    .command('validate')
    .description('check playbooks (and inventories) without contacting any host; exit 0 when valid, 2 otherwise')
    .argument('<playbook...>', 'playbook files')
    .option('-i, --inventory <source>', 'also validate this inventory; repeatable', collect)
    .action(async (playbooks: string[], flags: { inventory?: string[] }) => {
      const { loadPlaybooksLazily, planLoaded } = await api();
      const { playbook } = await loadPlaybooksLazily(playbooks);
      const plan = planLoaded({ playbooks, env: io.env, ...(flags.inventory ? { inventory: flags.inventory } : {}) }, playbook);
      for (const w of plan.warnings) io.err(`warning: ${w}\n`);
      io.out(`valid: ${[...playbooks, ...(flags.inventory ?? [])].join(', ')}\n`);
      exitCode = 0;
    });

  adhocOptions(program.command('exec'))
    .description('run one shell command on every host PATTERN selects, in parallel; output grouped by identical output and exit status')
    .argument('<pattern>', 'hosts: all, a group, a host, globs (web*), a:b, a:&b, a:!b')
    .argument('<command...>', 'the command line, after -- (run by /bin/sh on each host, like ssh does)')
    .addOption(new Option('--report <format=file>', `write a report at the end (the schema of a run's, with each host's stdout and stderr); repeatable; formats: ${Object.keys(reportFormats).join(', ')}`).argParser(collect))
    .addHelpText('after', `
Examples:
  provision exec -i inventory.yaml all -- uptime
  provision exec -i inventory.yaml web -b --timeout 30 -- 'systemctl is-active nginx'
  provision exec -i inventory.yaml all --report json=out.json -- 'cat /etc/debian_version'

Exit codes: 0 every command exited 0; 2 a command failed; 4 a host was unreachable (and nothing failed); 130 interrupted.`)
    .action(async (pattern: string, command: string[], flags: AdhocFlags & { report?: string[] }) => {
      exitCode = await execCommand(pattern, command, flags, io);
    });

  adhocOptions(program.command('facts'))
    .description('print the facts playbooks see for every host PATTERN selects: OS, init, package manager, container, sshd settings, firewall, listeners (one round trip per host)')
    .argument('<pattern>', 'hosts: all, a group, a host, globs (web*), a:b, a:&b, a:!b')
    .option('--json', 'print JSON (schema provision-facts/1) instead of a table')
    .addHelpText('after', `
sshd -T and iptables-save need root: use -b (or become: true in the inventory) when you log in as another user.

Exit codes: 0 every fact read; 2 a fact could not be read on a reached host; 4 a host was unreachable; 130 interrupted.`)
    .action(async (pattern: string, flags: AdhocFlags & { json?: boolean }) => {
      exitCode = await factsCommand(pattern, flags, io);
    });

  program
    .command('report')
    .description('work with JSON reports')
    .command('merge')
    .description('combine JSON reports (e.g. of --shard runs) into OUT; one exit code as if one run: 0 ok, 2 failed, 3 drift, 4 unreachable, 130 interrupted')
    .argument('<out>', 'merged JSON report to write')
    .argument('<reports...>', 'JSON reports (provision-report/1) to merge')
    .addOption(new Option('--report <format=file>', `also render the merged result; repeatable; formats: ${Object.keys(reportFormats).join(', ')}`).argParser(collect))
    .option('--no-color', 'no colours')
    .action(async (out: string, inputs: string[], flags: { report?: string[]; color?: boolean }) => {
      const [{ loadJsonReport, mergeReports }, { verdict }] = await Promise.all([import('../reporters/merge.js'), import('../reporters/human.js')]);
      const targets = [{ format: 'json', file: out }, ...(flags.report ?? []).map(parseReportTarget)];
      checkReportTargets(targets);
      const merged = mergeReports(inputs.map(loadJsonReport));
      for (const w of merged.warnings) io.err(`warning: ${escapeControls(w)}\n`);
      const errors = await writeReports(targets, merged.summary, merged.meta);
      for (const e of errors) io.err(`error: ${escapeControls(e)}\n`);
      io.out(`${verdict(merged.summary, makeStyle(colorWanted(io.stdout, io.env, flags.color)))}\n`);
      exitCode = errors.length > 0 ? EXIT.FAILED : merged.summary.exitCode;
    });

  program.addHelpText('after', `${EXAMPLES}\n${EXIT_CODES_HELP}`);

  // without `--`, the command's own flags would be read as ours (`ls -l` as --limit): refuse, say how
  if (argv[0] === 'exec' && !argv.includes('--') && !argv.some((a) => a === '-h' || a === '--help')) {
    io.err('error: put the command after --: provision exec -i INVENTORY PATTERN -- COMMAND...\n');
    return EXIT.FAILED;
  }
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return exitCode;
  } catch (err) {
    return handleError(err, io);
  }
}

function handleError(err: unknown, io: Io): number {
  const e = err as { code?: string; exitCode?: number };
  if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
    // help and version exit 0; usage errors were already printed by commander
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : EXIT.FAILED;
  }
  if (err instanceof ValidationError) {
    io.err(`error: invalid input\n${err.message.replace(/^/gm, '  ')}\n`);
    return EXIT.FAILED;
  }
  if (err instanceof ProvisionError) {
    io.err(`error: ${err.message}\n`);
    return EXIT.FAILED;
  }
  const frames = err instanceof Error && err.stack ? err.stack.split('\n').slice(1, 6).join('\n') + '\n' : '';
  // the bin's bundle has short names (scripts/bundle.ts): Node maps them back to src/ when asked
  const hint = frames.includes('provision.cjs:') && !process.sourceMapsEnabled ? '(names shortened by the build: run with NODE_OPTIONS=--enable-source-maps for the source)\n' : '';
  io.err(`internal error: ${errorMessage(err)}\n${frames}${hint}`);
  return EXIT.INTERNAL;
}

async function runCommand(playbooks: string[], flags: RunFlags, io: Io): Promise<number> {
  const { fanOut, loadPlaybooksLazily, parseExtraVars, planLoaded, provisionLoaded } = await api();
  const options: ProvisionOptions = {
    inventory: flags.inventory,
    playbooks,
    env: io.env,
    extraVars: parseExtraVars(flags.extraVars ?? []),
    ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    ...(flags.shard ? { shard: flags.shard } : {}),
    ...(flags.hostKeyPolicy ? { hostKeyPolicy: flags.hostKeyPolicy } : {}),
  };
  const loaded = await loadPlaybooksLazily(playbooks);
  if (flags.listHosts || flags.listTasks) {
    const plan = planLoaded(options, loaded.playbook);
    for (const w of plan.warnings) io.err(`warning: ${escapeControls(w)}\n`);
    for (const play of plan.plays) {
      io.out(`play ${escapeControls(play.name)} (${play.hosts.length} hosts)\n`);
      if (flags.listHosts) for (const h of play.hosts) io.out(`  ${escapeControls(h)}\n`);
      if (flags.listTasks) for (const t of play.tasks) io.out(`  ${escapeControls(t.name)}  [${t.module}]${t.tags.length ? `  tags: ${escapeControls(t.tags.join(','))}` : ''}\n`);
    }
    return EXIT.OK;
  }
  const secrets = new Secrets();
  const style = makeStyle(colorWanted(io.stdout, io.env, flags.color));
  const controller = new AbortController();
  let interrupts = 0;
  const removeHandler = io.onInterrupt(() => {
    interrupts++;
    if (interrupts === 1) {
      io.err('\ninterrupt: no new tasks are started; running ones finish, then the recap (Ctrl-C again to quit now)\n');
      controller.abort();
    } else {
      io.err('\ninterrupt: quitting now\n');
      process.exit(EXIT.INTERRUPTED);
    }
  });
  try {
    const verbosity = flags.quiet ? 0 : flags.verbose ? 2 : 1;
    const summary = await provisionLoaded({
      ...options,
      reports: (flags.report ?? []).map(parseReportTarget),
      check: flags.check ?? false,
      forks: flags.forks,
      ...(flags.tags ? { tags: flags.tags } : {}),
      ...(flags.skipTags ? { skipTags: flags.skipTags } : {}),
      taskTimeoutMs: flags.timeout * 1000,
      defaults: {
        ...(flags.user !== undefined ? { user: flags.user } : {}),
        ...(flags.privateKey !== undefined ? { identityFile: flags.privateKey } : {}),
        ...(flags.become ? { become: true } : {}),
      },
      ...(flags.hostKeyPolicy ? { hostKeyPolicy: flags.hostKeyPolicy } : {}),
      lockout: {
        ...(flags.lockoutProtection === false ? { protection: false } : {}),
        ...(flags.rollbackTimeout !== undefined ? { rollbackTimeoutSec: flags.rollbackTimeout } : {}),
        ...(flags.allowLockout ? { allowLockout: true } : {}),
      },
      log: { ...(flags.logLevel ? { level: flags.logLevel } : {}), ...(flags.logFile ? { file: flags.logFile } : {}) },
      signal: controller.signal,
      secrets,
      events: fanOut(await progressView(flags, io, secrets, style, verbosity), { warning: (w) => io.err(`warning: ${escapeControls(secrets.mask(w))}\n`) }),
    }, loaded);
    for (const e of summary.reportErrors) io.err(`error: ${escapeControls(secrets.mask(e))}\n`);
    return summary.exitCode;
  } finally {
    removeHandler();
  }
}

/**
 * Live progress on a terminal; a line per task
 * otherwise, and whenever the user asked for per-task output (--verbose
 * reasons/stdout, --diff diffs), which a redrawn area would hide; --quiet
 * prints only at the end. Either way the run ends with what was not ok, then
 * the recap.
 */
async function progressView(flags: RunFlags, io: Io, secrets: Secrets, style: ReturnType<typeof makeStyle>, verbosity: 0 | 1 | 2) {
  const write = (s: string) => io.out(secrets.mask(s));
  const check = flags.check ?? false;
  const mode = flags.progress ?? 'auto';
  const tty = Boolean(io.stdout.isTTY);
  const live = mode === 'live' || (mode === 'auto' && tty && io.env.TERM !== 'dumb' && !flags.verbose && !flags.diff && !flags.quiet);
  const columns = terminalColumns(io);
  if (live) return (await import('../reporters/progress.js')).progressReporter({ write, style, check, columns });
  return (await import('../reporters/human.js')).humanReporter({ write, style, check, diff: flags.diff ?? false, verbosity, ...(tty ? { columns } : {}) });
}

/** The terminal's width; 80 when the pty reports none (0 or nothing). */
export function terminalColumns(io: Pick<Io, 'stdout'>): () => number {
  return () => (io.stdout.columns && io.stdout.columns > 0 ? io.stdout.columns : 80);
}

interface AdhocFlags {
  inventory: string[];
  limit?: string;
  shard?: Shard;
  forks: number;
  timeout: number;
  user?: string;
  privateKey?: string;
  become?: boolean;
  hostKeyPolicy?: 'strict' | 'accept-new';
  color?: boolean;
}

function adhocOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-i, --inventory <source>', 'inventory file, or a comma list of hosts ("web1,db1," or "localhost,"); repeatable', collect)
    .option('-l, --limit <pattern>', 'only hosts matching this pattern too')
    .option('--shard <k/n>', 'only slice K of N of the selected hosts (sorted names, round-robin)', (v: string) => parseShard(v))
    .option('-f, --forks <n>', 'hosts worked on in parallel', intArg(1, 10_000), 256)
    .option('--timeout <seconds>', 'give up on a host after this long (0: none)', intArg(0, 86_400), 0)
    .option('-u, --user <user>', 'connect as this user where the inventory says none')
    .option('--private-key <file>', 'identity file where the inventory gives none')
    .option('-b, --become', 'use sudo where the inventory does not say')
    .addOption(new Option('--host-key-policy <policy>', 'unknown SSH host keys: refuse (strict) or record on first use (accept-new)').choices(['strict', 'accept-new']))
    .option('--no-color', 'no colours (also: NO_COLOR=1)');
}

/** The flags every ad-hoc command shares, as library options. */
function adhocApiOptions(pattern: string, flags: AdhocFlags, io: Io, secrets: Secrets, signal: AbortSignal): AdhocApiOptions {
  return {
    inventory: flags.inventory,
    pattern,
    env: io.env,
    forks: flags.forks,
    secrets,
    signal,
    ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    ...(flags.shard ? { shard: flags.shard } : {}),
    ...(flags.timeout ? { timeoutMs: flags.timeout * 1000 } : {}),
    defaults: {
      ...(flags.user !== undefined ? { user: flags.user } : {}),
      ...(flags.privateKey !== undefined ? { identityFile: flags.privateKey } : {}),
      ...(flags.become ? { become: true } : {}),
    },
    ...(flags.hostKeyPolicy ? { hostKeyPolicy: flags.hostKeyPolicy } : {}),
  };
}

/** Ctrl-C: no new host starts, running ones finish; a second one quits at once. */
function interruptible(io: Io, what: string): { signal: AbortSignal; remove: () => void } {
  const controller = new AbortController();
  let interrupts = 0;
  const remove = io.onInterrupt(() => {
    interrupts++;
    if (interrupts === 1) {
      io.err(`\ninterrupt: no new host is started; running ${what} finish (Ctrl-C again to quit now)\n`);
      controller.abort();
    } else {
      io.err('\ninterrupt: quitting now\n');
      process.exit(EXIT.INTERRUPTED);
    }
  });
  return { signal: controller.signal, remove };
}

async function execCommand(pattern: string, command: string[], flags: AdhocFlags & { report?: string[] }, io: Io): Promise<number> {
  const [{ execAdhoc }, { adhocProgress, execOutput, execVerdict }] = await Promise.all([api(), import('../reporters/adhoc.js')]);
  const secrets = new Secrets();
  const style = makeStyle(colorWanted(io.stdout, io.env, flags.color));
  const write = (s: string) => io.out(secrets.mask(s));
  const tty = Boolean(io.stdout.isTTY) && io.env.TERM !== 'dumb';
  const columns = terminalColumns(io);
  const progress = tty ? adhocProgress({ write, columns }) : undefined;
  const { signal, remove } = interruptible(io, 'commands');
  let selected = 0;
  try {
    const summary = await execAdhoc({
      ...adhocApiOptions(pattern, flags, io, secrets, signal),
      command: command.join(' '),
      reports: (flags.report ?? []).map(parseReportTarget),
      events: {
        warning: (w) => io.err(`warning: ${escapeControls(secrets.mask(w))}\n`),
        start: (h: string[]) => {
          selected = h.length;
          progress?.start(h);
        },
        ...(progress ? { hostDone: () => progress.hostDone() } : {}),
      },
    });
    progress?.stop();
    const text = { style, ...(tty ? { columns: columns() } : {}) };
    for (const l of execOutput(summary, text)) write(`${l}\n`);
    write(`${summary.results.length || summary.hosts.length ? '\n' : ''}${execVerdict(summary, style, selected)}\n`);
    for (const e of summary.reportErrors) io.err(`error: ${escapeControls(secrets.mask(e))}\n`);
    return summary.exitCode;
  } finally {
    progress?.stop();
    remove();
  }
}

async function factsCommand(pattern: string, flags: AdhocFlags & { json?: boolean }, io: Io): Promise<number> {
  const [{ gatherFacts }, { factsTable }] = await Promise.all([api(), import('../reporters/adhoc.js')]);
  const secrets = new Secrets();
  const style = makeStyle(!flags.json && colorWanted(io.stdout, io.env, flags.color));
  const write = (s: string) => io.out(secrets.mask(s));
  const { signal, remove } = interruptible(io, 'reads');
  try {
    const report = await gatherFacts({ ...adhocApiOptions(pattern, flags, io, secrets, signal), events: { warning: (w) => io.err(`warning: ${escapeControls(secrets.mask(w))}\n`) } });
    if (flags.json) write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      const tty = Boolean(io.stdout.isTTY);
      for (const l of factsTable(report, { style, ...(tty ? { columns: terminalColumns(io)() } : {}) })) write(`${l}\n`);
    }
    return report.exitCode;
  } finally {
    remove();
  }
}
