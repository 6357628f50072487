/**
 * Integration harness: run a playbook, given as YAML text, against a test fleet
 * with the real runner over real SSH.
 *
 *   const fleet = await startFleet({ count: 2, image });
 *   await converge(fleet, `
 *   - hosts: all
 *     tasks:
 *       - name: motd
 *         copy: { dest: /etc/motd, content: "hi\n" }
 *   `);
 *
 * `converge` asserts the contract every task type must meet: a check run
 * predicts exactly the (host, task) pairs the first apply then changes, nothing
 * fails, a second apply changes nothing, and a final check finds no drift.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadInventories, loadPlaybooks, registry } from '../../src/api.js';
import type { RunSummary } from '../../src/core/results.js';
import { run, type RunOptions } from '../../src/core/runner.js';
import type { Fleet } from './fleet.js';

export interface PlayOptions extends Partial<Omit<RunOptions, 'inventory' | 'playbook' | 'registry'>> {
  /** Connect as this user (default root). */
  user?: string;
  /** Connect where the container's port `sshPort` is published (after sshd moved; default 22). */
  sshPort?: number;
}

/** One shell command as root on a fleet host through docker exec (outside provision): its stdout; an error with its output when it fails. */
export async function onHost(fleet: Fleet, command: string, host = 0): Promise<string> {
  const r = await fleet.hosts[host]!.container.exec(['sh', '-c', command]);
  if (r.exitCode !== 0) throw new Error(`${command}: exit ${r.exitCode}: ${r.output}`);
  return r.stdout;
}

/** Write `yaml` beside the fleet's key and run it on the fleet. */
export async function runPlaybook(fleet: Fleet, yaml: string, opts: PlayOptions = {}): Promise<RunSummary> {
  const id = randomBytes(4).toString('hex');
  const playbookFile = join(fleet.dir, `playbook-${id}.yaml`);
  writeFileSync(playbookFile, yaml);
  const inventoryFile = join(fleet.dir, `inventory-${id}.yaml`);
  const { user, sshPort, ...runOpts } = opts;
  await fleet.writeInventory(inventoryFile, { ...(user ? { user } : {}), ...(sshPort ? { sshPort } : {}) });
  return run({ ...runOpts, inventory: loadInventories([inventoryFile]), playbook: loadPlaybooks([playbookFile]), registry });
}

/** `host: task` of every result with this status. */
export function keysOf(s: RunSummary, status: 'changed' | 'failed' | 'ok' | 'skipped'): string[] {
  return s.results.filter((r) => r.status === status && !r.ignored).map((r) => `${r.host}: ${r.task}`).sort();
}

/** Failures as readable text, so a failing assertion shows why. */
export function failures(s: RunSummary): string[] {
  return [
    ...s.results.filter((r) => r.status === 'failed' && !r.ignored).map((r) => `${r.host}: ${r.task}: ${r.message}`),
    ...s.hosts.filter((h) => h.unreachable).map((h) => `${h.host}: unreachable: ${h.error}`),
  ];
}

export interface Convergence {
  check: RunSummary;
  apply: RunSummary;
  again: RunSummary;
  audit: RunSummary;
}

/** check → apply → apply → check, asserting prediction = change, idempotence and no drift. */
export async function converge(fleet: Fleet, yaml: string, opts: PlayOptions = {}): Promise<Convergence> {
  const check = await runPlaybook(fleet, yaml, { ...opts, check: true });
  expect(failures(check), 'check mode failed').toEqual([]);
  const apply = await runPlaybook(fleet, yaml, opts);
  expect(failures(apply), 'apply failed').toEqual([]);
  expect(keysOf(apply, 'changed'), 'check mode must predict exactly what apply changes').toEqual(keysOf(check, 'changed'));
  const again = await runPlaybook(fleet, yaml, opts);
  expect(failures(again), 'second apply failed').toEqual([]);
  expect(keysOf(again, 'changed'), 'second apply must change nothing').toEqual([]);
  const audit = await runPlaybook(fleet, yaml, { ...opts, check: true });
  expect(keysOf(audit, 'changed'), 'check after apply must find no drift').toEqual([]);
  expect(audit.exitCode).toBe(0);
  return { check, apply, again, audit };
}
