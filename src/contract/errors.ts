/**
 * Typed errors. Every error the tool raises on purpose carries a stable `code`
 * (documented in README, used by reporters and tests) and, where it wraps a lower
 * level failure, the original as `cause`.
 */

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export class ProvisionError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem found while validating a playbook or inventory. */
export interface ValidationIssue {
  location?: SourceLocation;
  /** Dotted path of the field, e.g. `[0].tasks[3].user.shell`. */
  path: string;
  message: string;
}

/** Bad input files: exit code 2, no stack trace. */
export class ValidationError extends ProvisionError {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[], options?: { cause?: unknown }) {
    super('E_VALIDATION', issues.map(formatIssue).join('\n'), options);
    this.issues = issues;
  }
}

export function formatIssue(issue: ValidationIssue): string {
  const where = issue.location ? `${issue.location.file}:${issue.location.line}:${issue.location.column} ` : '';
  const path = issue.path ? `${issue.path}: ` : '';
  return `${where}${path}${issue.message}`;
}

/** Could not reach or authenticate to a host. */
export class ConnectionError extends ProvisionError {
  constructor(
    readonly host: string,
    message: string,
    options?: { cause?: unknown; code?: string },
  ) {
    super(options?.code ?? 'E_UNREACHABLE', `${host}: ${message}`, options);
  }
}

/** The host key is unknown (and not accepted) or does not match known_hosts. */
export class HostKeyError extends ConnectionError {
  constructor(host: string, message: string, readonly fingerprint: string) {
    super(host, message, { code: 'E_HOST_KEY' });
  }
}

/** A remote command exited non-zero where success was required. */
export class CommandError extends ProvisionError {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    message?: string,
  ) {
    super('E_COMMAND', message ?? `command failed (exit ${exitCode ?? 'signal'}): ${stderr.trim() || '(no stderr)'}`);
  }
}

/** A remote command ran longer than its timeout. */
export class TimeoutError extends ProvisionError {
  constructor(readonly command: string, readonly timeoutMs: number) {
    super('E_TIMEOUT', `command timed out after ${timeoutMs} ms`);
  }
}

/** A template or `when:` expression could not be rendered. */
export class TemplateError extends ProvisionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_TEMPLATE', message, options);
  }
}

/** A fact's output could not be parsed. */
export class FactError extends ProvisionError {
  constructor(readonly fact: string, message: string, options?: { cause?: unknown }) {
    super('E_FACT', `fact ${fact}: ${message}`, options);
  }
}

/** A task's arguments are valid by schema but impossible on this host (e.g. unsupported OS family). */
export class TaskError extends ProvisionError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'E_TASK', message, options);
  }
}

/**
 * Lockout protection: `E_LOCKOUT` when the pre-flight refuses a change that
 * would cut our SSH access; `E_ROLLED_BACK` when a change cut it and the host
 * restored its snapshot.
 */
export class LockoutError extends ProvisionError {
  constructor(code: 'E_LOCKOUT' | 'E_ROLLED_BACK', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
