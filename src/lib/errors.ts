/**
 * Typed errors mapped to cnet's exit codes (README "Exit codes").
 * Every library module throws one of these; the base command turns them into a
 * one-line message and the matching exit code.
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 3,
  storeUnavailable: 4,
  conflict: 5,
  systemCommand: 6,
  /** A bug in cnet itself: the stack is printed with --log-level debug. */
  internal: 70,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export class CnetError extends Error {
  readonly exitCode: ExitCodeValue
  /** What the user can do about it, appended to the message. */
  hint?: string
  /**
   * The setting the user can change to fix it, in the library's terms ("etcd-endpoints",
   * "etcd-username"); the CLI names the flag and environment variable that set it.
   */
  setting?: string
  constructor(message: string, exitCode: ExitCodeValue = ExitCode.failure, hint?: string, setting?: string) {
    super(message)
    this.name = new.target.name
    this.exitCode = exitCode
    this.hint = hint
    this.setting = setting
  }

  /** The single line printed to stderr. */
  oneLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message
  }
}

/** A flag or argument that is not allowed: exit 2. */
export class UsageError extends CnetError {
  constructor(message: string, hint?: string, setting?: string) {
    super(message, ExitCode.usage, hint, setting)
  }
}

/** The cluster config (in etcd or a file) is missing or invalid: exit 3. */
export class ConfigError extends CnetError {
  constructor(message: string, hint?: string, setting?: string) {
    super(message, ExitCode.config, hint, setting)
  }
}

/** etcd could not be reached within the deadline: exit 4. */
export class StoreUnavailableError extends CnetError {
  constructor(message: string, hint?: string, setting?: string) {
    super(message, ExitCode.storeUnavailable, hint, setting)
  }
}

/** Out of subnets, or someone else holds what we asked for: exit 5. */
export class ConflictError extends CnetError {
  constructor(message: string, hint?: string, setting?: string) {
    super(message, ExitCode.conflict, hint, setting)
  }
}

/** What a failed system command left behind. */
export interface CommandFailure {
  command: string[]
  exitCode: number | undefined
  stderr: string
  timedOut: boolean
  durationMs: number
}

/** An `ip`, `bridge`, `iptables` (or any other system) command failed or hung: exit 6. */
export class SystemCommandError extends CnetError {
  constructor(message: string, hint?: string, readonly failure?: CommandFailure) {
    super(message, ExitCode.systemCommand, hint)
  }
}

/**
 * A value that is not allowed, named by its field in the library's own terms
 * ("namespace", "port", "Backend.VNI"), never by a flag: the CLI layer maps the field
 * to the flag or argument it came from (src/cli/base-command.ts). Exit 2.
 */
export class InvalidValueError extends CnetError {
  constructor(readonly field: string, readonly problem: string, hint?: string) {
    super(`${field}: ${problem}`, ExitCode.usage, hint)
  }

  /** The same error told under another name for its field (a flag, a file path). */
  renamed(name: string): InvalidValueError {
    return new InvalidValueError(name, this.problem, this.hint)
  }
}

export function isCnetError(error: unknown): error is CnetError {
  return error instanceof CnetError
}
