/**
 * The task module contract (after Ansible's module contract and pyinfra's
 * operations): a zod schema for the arguments, the facts it needs, and a pure
 * `plan` that says "no change, because ..." or returns the steps and a diff.
 * Only the runner does I/O; check mode stops after planning.
 */
import type { z } from 'zod';
import type { FactRequest, FactValues } from './fact.js';
import type { HostFacts } from './host-facts.js';

export interface TaskContext {
  /** Facts gathered at connect time (OS family, init system, package manager, ...). */
  readonly host: HostFacts;
  /** True in check mode: plan only, nothing is modified. */
  readonly check: boolean;
  /**
   * Check mode: how many earlier tasks on this host reported a change that was
   * only predicted, not made (0 or absent: none). A planner whose subject is
   * missing may be looking at what such a task would install.
   */
  readonly earlierChanges?: number;
  /** Commands of this task run through sudo. */
  readonly become: boolean;
  /**
   * The task's variables as its arguments were rendered with (inventory, play,
   * extra vars, facts, registered results, the loop item): what a template file
   * (`template`) is rendered with.
   */
  readonly vars: Readonly<Record<string, unknown>>;
  /**
   * Local directories on the control machine a relative `src` is looked up in,
   * first match wins: `templates` for `template`, `files` for `copy`. For a
   * task in a playbook: `<playbook dir>/templates` (or `/files`), then the
   * playbook's directory, as Ansible does for a playbook without roles. A role
   * loader puts the role's `templates/` or `files/` first. `vars` for
   * `include_vars`, the same way with `vars/`.
   */
  readonly searchDirs: { readonly templates: readonly string[]; readonly files: readonly string[]; readonly vars?: readonly string[] };
}

/** What `register:` stores besides the common keys (changed, failed, msg...): Ansible's module return values. */
export type RegisterData = Readonly<Record<string, unknown>>;

/**
 * What a control task (set_fact, include_vars, meta) asks of the run besides
 * its result: it runs on the control machine and changes nothing on the host.
 */
export interface Control {
  /** Variables the host has for the rest of the run, over play and task vars (set_fact, include_vars). */
  readonly facts?: Readonly<Record<string, unknown>>;
  /** A step of the play's flow: run the notified handlers now, end the play (every host), end it for this host. */
  readonly meta?: 'flush_handlers' | 'end_play' | 'end_host' | 'noop';
}

/** A file or setting before and after, shown under --diff. */
export interface Diff {
  /** What changed: a path, or a name like `iptables filter`. */
  readonly label: string;
  readonly before: string;
  readonly after: string;
}

/** One remote command the runner executes when applying a change. */
export interface Step {
  /** Shell command; every value in it was quoted with `quote`/`sh`. */
  readonly command: string;
  /** Written to stdin (file contents). Never logged. */
  readonly stdin?: string;
  /** Exit codes that count as success (default: [0]). */
  readonly okCodes?: readonly number[];
  /** Overrides the task's timeout for this step (ms). */
  readonly timeoutMs?: number;
}

/** A fact value the host will have once the change is applied: lets check mode predict later tasks. */
export interface Prediction<T = unknown> {
  readonly request: FactRequest<T>;
  readonly value: T;
}

export type Plan =
  | {
      readonly kind: 'ok';
      /** Why nothing needs to change, e.g. "user deploy exists with the requested settings". */
      readonly reason: string;
      /** Merged into the registered result (e.g. `stat`'s `stat: {exists, mode, ...}`). */
      readonly data?: RegisterData;
      /** Control tasks: what the run does besides recording the result. */
      readonly control?: Control;
    }
  | {
      readonly kind: 'skip';
      /** Why the task does not apply to this host, e.g. "host is a container". */
      readonly reason: string;
    }
  | {
      readonly kind: 'change';
      /** One line: what will change, e.g. "create user deploy". */
      readonly summary: string;
      readonly steps: readonly Step[];
      readonly diffs?: readonly Diff[];
      readonly predictions?: readonly Prediction[];
      /**
       * The change can cut our own access to the host (firewall, sshd, the
       * connecting user's account or keys): the runner applies it
       * commit-confirmed (snapshot, armed rollback, new connection, disarm).
       */
      readonly risk?: 'access';
      /** sshd will listen on this port once the change is applied (a port move). */
      readonly sshPort?: number;
      /** sshd will present other host keys once the change is applied. */
      readonly hostKeys?: HostKeyChange;
      /** Merged into the registered result (e.g. `get_url`'s `dest`, `checksum_dest`). */
      readonly data?: RegisterData;
      /** The change is a reboot: the runner issues it and waits for the host to come back (`reboot`). */
      readonly reboot?: RebootRequest;
    }
  | {
      /**
       * A condition only the host can tell, possibly after waiting (`wait_for`):
       * nothing is changed. Applying runs `step`, which waits up to its own
       * timeout and exits 0 once the condition holds: the task is ok, with
       * `data(stdout)` registered; any other exit fails the task with the
       * step's stderr. Check mode runs `checkStep` instead, the condition as it
       * is now, without waiting: ok when it holds, else skipped (an earlier task
       * may be what makes it hold, and check mode changed nothing).
       */
      readonly kind: 'probe';
      /** What holds once the step succeeds, e.g. "port 8080 on 127.0.0.1 is open". */
      readonly summary: string;
      readonly step: Step;
      readonly checkStep: Step;
      /** Pure: the registered data from the successful step's stdout. */
      data?(stdout: string): RegisterData;
    };

/**
 * Reboot the host and wait for it (Ansible's reboot action): the runner runs
 * `command` (a connection lost meanwhile is expected), waits `postDelaySec`,
 * then connects anew until `bootTimeCommand` prints something else than
 * `bootIdBefore`, then until `testCommand` succeeds, all within `timeoutSec`;
 * the run continues over the new connection.
 */
export interface RebootRequest {
  readonly command: string;
  readonly bootTimeCommand: string;
  readonly bootIdBefore: string;
  readonly testCommand: string;
  readonly timeoutSec: number;
  readonly postDelaySec: number;
}

/**
 * sshd's host keys change: clients that know the old ones would refuse the
 * host. The runner reads the public keys sshd then presents over the
 * connection it already verified, records them in known_hosts for this host
 * (dropping the lines of their types and of the removed ones), says so, and
 * confirms over a new connection that presents each of them (commit-confirmed:
 * rolled back if that fails).
 */
export interface HostKeyChange {
  /** Public key files of every key sshd presents after the change, e.g. `/etc/ssh/ssh_host_rsa_key.pub`. */
  readonly files: readonly string[];
  /** Key types sshd no longer presents, e.g. `ecdsa-sha2-nistp256`. */
  readonly removed: readonly string[];
}

/** How we reach the host right now, as the host sees it: what a plan must not cut. */
export interface AccessInfo {
  /** The user we log in as. */
  readonly user: string;
  /** Our address as the host sees it (from SSH_CONNECTION). */
  readonly clientIp: string;
  /** The port sshd accepted us on, on the host side (not a NAT/forwarded port). */
  readonly serverPort: number;
  readonly auth: 'publickey' | 'password' | 'agent';
  /**
   * Public keys (`type base64`) this session may have logged in with: the one
   * accepted, or every key of the agent. Empty when unknown or not by key.
   */
  readonly keys: readonly string[];
}

export interface TaskModule<S extends z.ZodType = z.ZodType, F extends Record<string, FactRequest> = Record<string, FactRequest>> {
  /** The key used in playbooks, e.g. `copy`. */
  readonly name: string;
  /** One line for --help and the README. */
  readonly description: string;
  /** A playbook snippet (YAML task list) shown in the README's task reference. */
  readonly example?: string;
  readonly schema: S;
  /** Facts the planner needs for these arguments; read in one batch. */
  facts(args: z.output<S>, ctx: TaskContext): F;
  /** Pure: compare desired with actual. Throw TaskError for impossible requests. */
  plan(args: z.output<S>, facts: FactValues<F>, ctx: TaskContext): Plan;
  /**
   * The effect cannot be planned (command, shell): check mode skips the task
   * unless `check_mode: false`, and an apply reports it changed unless
   * `changed_when` says otherwise.
   */
  readonly opaque?: boolean;
  /**
   * Pre-flight: would applying these arguments cut `access`? Return the reason
   * (naming the rule or setting) or undefined. Only for tasks whose plans carry
   * `risk: 'access'`. Pure.
   */
  lockout?(args: z.output<S>, facts: FactValues<F>, access: AccessInfo, ctx: TaskContext): string | undefined;
  /**
   * Optional local preparation before planning, on the control machine: read a
   * `src:` file found in `ctx.searchDirs`, render a template with `ctx.vars`.
   */
  prepare?(args: z.output<S>, ctx: TaskContext): Promise<z.output<S>>;
}

/** Identity helper that gives full type inference when declaring a module. */
export function defineTask<S extends z.ZodType, F extends Record<string, FactRequest>>(
  module: TaskModule<S, F>,
): TaskModule<S, F> {
  return module;
}

export const ok = (reason: string, data?: RegisterData): Plan => ({ kind: 'ok', reason, ...(data !== undefined ? { data } : {}) });
/** A control task's plan: nothing on the host; `control` tells the run what to do. */
export const controlled = (reason: string, control: Control, data?: RegisterData): Plan => ({ kind: 'ok', reason, control, ...(data !== undefined ? { data } : {}) });
export const skip = (reason: string): Plan => ({ kind: 'skip', reason });
export function change(
  summary: string,
  steps: readonly Step[],
  extra?: { diffs?: readonly Diff[]; predictions?: readonly Prediction[]; risk?: 'access'; sshPort?: number; hostKeys?: HostKeyChange; data?: RegisterData; reboot?: RebootRequest },
): Plan {
  return { kind: 'change', summary, steps, ...extra };
}
