/**
 * SELinux port labels for an sshd port move: on an enforcing host sshd binds
 * only ports labelled `ssh_port_t`. Each wanted port not labelled so gets
 * `semanage port -a` (`-m` when the port is an exact entry of another type:
 * `-a` fails there), recorded for the rollback: the label we added is
 * deleted (`-d`), a local label we modified gets its type back (`-m -t`).
 * Enforcing without semanage: refused, naming the package. Permissive: a
 * missing semanage is only noted (sshd binds, the denial is logged).
 */
import { TaskError } from '../../contract/errors.js';
import type { Prediction, Step } from '../../contract/task.js';
import { onRollback } from '../../core/guard.js';
import { portLabel, selinux, type SelinuxFacts } from '../../facts/selinux.js';
import { SEMANAGE_PACKAGE as PACKAGE, SBIN_PATH as PATH } from './semanage.js';
import { SERVICE_TIMEOUT_MS } from './services.js';

export interface PortLabelPlan {
  readonly steps: Step[];
  readonly notes: string[];
  readonly predictions: Prediction[];
}

export function sshPortLabels(f: SelinuxFacts | undefined, ports: readonly number[]): PortLabelPlan {
  const none: PortLabelPlan = { steps: [], notes: [], predictions: [] };
  if (!f || f.mode === 'disabled') return none;
  const todo = [...new Set(ports)].filter((p) => !portLabel(f, p).ssh);
  if (todo.length === 0) return none;
  const list = todo.join(', ');
  if (!f.semanage) {
    if (f.mode === 'enforcing') {
      throw new TaskError(
        `SELinux is enforcing and tcp/${list} is not labelled ssh_port_t, so sshd could not bind it; semanage is not installed: install ${PACKAGE} in an earlier task (this task then labels the port), or run semanage port -a -t ssh_port_t -p tcp PORT yourself`,
      );
    }
    return { ...none, notes: [`SELinux is permissive and tcp/${list} is not labelled ssh_port_t (semanage missing: install ${PACKAGE}); sshd binds it but each bind is logged as a denial, and enforcing mode would stop it`] };
  }
  const steps = todo.map((p): Step => {
    const l = portLabel(f, p);
    const verb = l.exact ? '-m' : '-a';
    const undo = l.exact && l.local ? `-m -t ${l.exact}` : '-d';
    return {
      command: `${PATH}; semanage port ${verb} -t ssh_port_t -p tcp ${p} && ${onRollback(`${PATH}; semanage port ${undo} -p tcp ${p}`)}`,
      timeoutMs: SERVICE_TIMEOUT_MS,
    };
  });
  const after: SelinuxFacts = {
    ...f,
    labels: [...f.labels, { type: 'ssh_port_t', proto: 'tcp', ports: todo.map(String) }],
    local: [...f.local, { type: 'ssh_port_t', proto: 'tcp', ports: todo.map(String) }],
  };
  return {
    steps,
    notes: [`label tcp/${list} ssh_port_t for SELinux (${f.mode}) before sshd moves there`],
    predictions: [{ request: selinux(), value: after }],
  };
}
