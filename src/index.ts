/** Library entry point: everything the CLI uses, importable. */
export {
  execAdhoc,
  fanOut,
  gatherFacts,
  loadInventories,
  loadPlaybooks,
  parseExtraVars,
  planRun,
  provision,
  registry,
  type AdhocApiOptions,
  type ExecOptions,
  type ProvisionOptions,
  type RunPlan,
} from './api.js';
export { FACTS_SCHEMA, type FactsReport, type HostFactsReport, type SshdSummary, type FirewallSummary, type FactFailure } from './core/adhoc.js';
export { run, type RunOptions } from './core/runner.js';
export type { HostDefaults } from './core/access.js';
export { EXIT, exitCodeOf, type RunSummary, type RunEvents, type TaskResult, type HostRecap, type TaskStatus } from './core/results.js';
export { connectHost, type ConnectExtra } from './core/connect.js';
export { defineTask, ok, skip, change, type TaskModule, type Plan, type Step, type Diff, type TaskContext } from './contract/task.js';
export { req, type Fact, type FactRequest } from './contract/fact.js';
export { quote, sh } from './contract/quote.js';
export * from './contract/errors.js';
export { LocalConnection } from './connections/local.js';
export { SshConnection, connectSsh, type SshOptions } from './connections/ssh.js';
export type { Connection, ExecResult } from './connections/types.js';
export { jsonReport, JSON_REPORT_SCHEMA } from './reporters/json.js';
export { parseReportTarget, type ReportTarget } from './reporters/index.js';
