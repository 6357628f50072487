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
    await session.exec(`echo 0 > ${quote(`${ROLLBACK_ROOT}/${id}/deadline`)}`, ROOT).catch(() => undefined);
    for (let i = 0; i < 20; i++) {
      const r = await session.exec(rolledBackScript(id), ROOT).catch(() => undefined);
      if (r?.code === 0) break;
      await sleep(500);
    }
    throw err;
  }
}

/** Disarm over a NEW connection before `confirmBy`; on success the session moves to it. Returns the error otherwise. */
async function confirm(session: HostSession, spec: HostSpec, connect: Connector, id: string, port: number, confirmBy: number): Promise<unknown> {
  let confirmError: unknown = new TaskError('no time left to confirm the change');
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
      if (err instanceof HostKeyError) return err;
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
