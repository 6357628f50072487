/** Library entry point: everything the CLI uses, importable. */
export { fanOut, loadInventories, loadPlaybooks, parseExtraVars, provision, registry, type ProvisionOptions } from './api.js';
export { run, EXIT, exitCodeOf, connectHost, type RunOptions, type RunSummary, type RunEvents, type TaskResult, type HostRecap } from './core/runner.js';
export { defineTask, ok, skip, change, type TaskModule, type Plan, type Step, type Diff, type TaskContext } from './contract/task.js';
export { req, type Fact, type FactRequest } from './contract/fact.js';
export { quote, sh } from './contract/quote.js';
export * from './contract/errors.js';
export { LocalConnection } from './connections/local.js';
export { SshConnection, connectSsh, type SshOptions } from './connections/ssh.js';
export type { Connection, ExecResult } from './connections/types.js';
export { jsonReport, JSON_REPORT_SCHEMA } from './reporters/json.js';
