/**
 * Commit-confirmed apply (the scripts are in guard.ts): snapshot + armed
 * rollback on the host, the steps (each pushes the deadline back first), then
 * a NEW connection with the post-change port must disarm the rollback.
 * Otherwise the host restores itself and the task fails with E_ROLLED_BACK.
 */
import { SshConnection } from '../connections/ssh.js';
import { ConnectionError, HostKeyError, LockoutError, TaskError, TimeoutError, errorMessage } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import type { Connector } from './connect.js';
import { ROLLBACK_ROOT, armScript, dialPort, disarmScript, extendScript, newGuardId, rolledBackScript } from './guard.js';
import type { HostSession, RunAs } from './host.js';
import type { HostSpec } from './inventory.js';

/** Runs the plan's steps, each command prefixed by `prefix` (the deadline push). */
export type StepRunner = (prefix: string, timeoutMs: number | undefined, graceMs?: number) => Promise<void>;

export interface ConfirmRequest {
  taskName: string;
  /** sshd listens here once the change is applied (a port move). */
  sshPort: number | undefined;
  timeoutSec: number;
  runSteps: StepRunner;
  /** The task's own timeout per step, if any. */
  timeoutMs: number | undefined;
}

const ROOT: RunAs = { become: true, becomeUser: 'root' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function applyConfirmed(session: HostSession, spec: HostSpec, connect: Connector, req: ConfirmRequest): Promise<void> {
  const { taskName, sshPort, timeoutSec } = req;
  const id = newGuardId();
  const label = `${taskName} (${new Date().toISOString()})`;
  const armed = await session.exec(armScript({ id, timeoutSec, init: session.facts.init, loginUser: session.facts.user, label }), ROOT);
  if (armed.code !== 0) throw new TaskError(`cannot arm the rollback on the host, so the change was not applied: ${armed.stderr.trim() || `exit ${armed.code}`}`);
  const armedAt = await applySteps(session, id, req);
  const port = sshPort !== undefined ? dialPort(sshPort, spec.connection.portMap, sshPort) : spec.connection.port;
  const confirmError = await confirm(session, spec, connect, id, port, armedAt + timeoutSec * 1000 - 3000);
  if (confirmError === undefined) {
    spec.connection.port = port;
    if (sshPort !== undefined) session.accessPort = sshPort;
    return;
  }
  // a confirmation that cannot succeed: roll back now over the old session, which the change did not cut
  const refusedAt = Date.now();
  if (certain(confirmError) && (await rollBackNow(session, id))) {
    throw new LockoutError(
      'E_ROLLED_BACK',
      `rolled back at once (in ${((Date.now() - refusedAt) / 1000).toFixed(1)} s): a new connection after ${taskName} was refused for certain (${errorMessage(confirmError)}), so the host restored its previous firewall/sshd/user state over the connection still open`,
      { cause: confirmError },
    );
  }
  // no confirmation: the host restores its snapshot at the deadline; then check with the old parameters
  await sleep(Math.max(0, armedAt + timeoutSec * 1000 + 3000 - Date.now()));
  const restored = await awaitRollback(session, spec, connect, id);
  throw new LockoutError(
    'E_ROLLED_BACK',
    restored
      ? `rolled back: access lost after ${taskName}; the host restored its previous firewall/sshd/user state (${errorMessage(confirmError)})`
      : `access lost after ${taskName} and the host did not answer after its rollback deadline (${errorMessage(confirmError)})`,
    { cause: confirmError },
  );
}

/** Run the steps under the armed rollback; returns when the deadline was last pushed. */
async function applySteps(session: HostSession, id: string, req: ConfirmRequest): Promise<number> {
  const armedAt = Date.now();
  const extend = `{ ${extendScript(id, req.timeoutSec)}; } >/dev/null 2>&1\n`;
  // a step that loses the connection must not hang the run: bound it well inside the rollback window
  const stepTimeout = Math.min(req.timeoutMs || Number.POSITIVE_INFINITY, (req.timeoutSec * 1000) / 2);
  try {
    // a connection the change cut answers nothing: give up on it soon after the remote timeout
    await req.runSteps(extend, stepTimeout, 2000);
    return Date.now();
  } catch (err) {
    if (err instanceof ConnectionError || err instanceof TimeoutError) return armedAt; // the confirm decides
    // the change failed half-way: restore the snapshot now rather than at the deadline
    await rollBackNow(session, id);
    throw err;
  }
}

/** Bring the deadline forward so the host restores its snapshot now; true once it says it has. */
async function rollBackNow(session: HostSession, id: string): Promise<boolean> {
  const now = await session.exec(`echo 0 > ${quote(`${ROLLBACK_ROOT}/${id}/deadline`)}`, { ...ROOT, timeoutMs: 5000, graceMs: 2000 }).catch(() => undefined);
  if (now?.code !== 0) return false;
  for (let i = 0; i < 20; i++) {
    const r = await session.exec(rolledBackScript(id), { ...ROOT, timeoutMs: 5000, graceMs: 2000 }).catch(() => undefined);
    if (r?.code === 0) return true;
    await sleep(500);
  }
  return false;
}

/**
 * A failed confirmation that waiting cannot mend: the host key changed, the
 * login was refused, or nothing listens where sshd should (refused for
 * several seconds in a row: a restarting sshd refuses for a moment).
 */
function certain(err: unknown): boolean {
  if (err instanceof HostKeyError) return true;
  if (err instanceof ConnectionError && err.code === 'E_AUTH') return true;
  return err instanceof RefusedError;
}

/** Connection refused, again and again, for longer than an sshd restart takes. */
class RefusedError extends ConnectionError {}
const REFUSED_FOR_MS = 6000;

/** Disarm over a NEW connection before `confirmBy`; on success the session moves to it. Returns the error otherwise. */
async function confirm(session: HostSession, spec: HostSpec, connect: Connector, id: string, port: number, confirmBy: number): Promise<unknown> {
  let confirmError: unknown = new TaskError('no time left to confirm the change');
  let refusedSince: number | undefined;
  while (Date.now() < confirmBy) {
    try {
      const trustKey = session.connection instanceof SshConnection ? session.connection.hostKey : undefined;
      const conn = await connect(
        { ...spec, connection: { ...spec.connection, port, connectTimeoutMs: Math.max(2000, Math.min(10_000, confirmBy - Date.now())) } },
        { attempts: 1, ...(trustKey ? { trustKey } : {}) },
      );
      const res = await session.sibling(conn).exec(disarmScript(id), { ...ROOT, timeoutMs: 10_000 });
      if (res.code === 0) {
        await session.swap(conn).close();
        return undefined;
      }
      await conn.close();
      return new TaskError(res.stderr.trim() || `disarm exit ${res.code}`);
    } catch (err) {
      confirmError = err;
      if (certain(err)) return err;
      if (err instanceof ConnectionError && /ECONNREFUSED/.test(err.message)) {
        refusedSince ??= Date.now();
        if (Date.now() - refusedSince >= REFUSED_FOR_MS) return new RefusedError(spec.name, `${err.message.replace(`${spec.name}: `, "")} for ${REFUSED_FOR_MS / 1000} s`);
      } else refusedSince = undefined;
      await sleep(1000);
    }
  }
  return confirmError;
}

/** After the deadline: reconnect with the old parameters and check the host's rolled-back marker. */
async function awaitRollback(session: HostSession, spec: HostSpec, connect: Connector, id: string): Promise<boolean> {
  const giveUpAt = Date.now() + 30_000;
  while (Date.now() < giveUpAt) {
    try {
      const conn = await connect({ ...spec, connection: { ...spec.connection, connectTimeoutMs: 5000 } }, { attempts: 1 });
      const marker = await session.sibling(conn).exec(rolledBackScript(id), ROOT);
      await session.swap(conn).close();
      if (marker.code === 0) return true;
    } catch {
      /* not back yet */
    }
    await sleep(1000);
  }
  return false;
}
