import {execa} from 'execa'
import {SystemCommandError} from './errors.js'

/**
 * The one way cnet runs a system command: an argument array (never a shell string), a
 * timeout on every call (SIGKILL when it passes, so a hung `ip` or `iptables-restore`
 * cannot stall a daemon), output capped, and one typed error (SystemCommandError,
 * exit 6) carrying the command line, its exit code, its stderr and how long it ran.
 */
export interface RunOptions {
  input?: string
  env?: Record<string, string>
  /** With env: whether the rest of this process's environment is passed too (default true). */
  extendEnv?: boolean
  /** Killed (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number
  /** stdout and stderr are each cut at this size; default 64 MiB. */
  maxOutputBytes?: number
  /** Aborting it kills the command. */
  signal?: AbortSignal
  /** stdout and stderr interleaved as `all` (for check output). */
  all?: boolean
  /** Return a failed run (non-zero exit, timeout, could not start) instead of throwing. */
  allowFailure?: boolean
  /** Prefixes the error message, e.g. "vxlan". */
  component?: string
}

export interface CommandResult {
  stdout: string
  stderr: string
  /** stdout and stderr interleaved, with `all: true`. */
  all: string
  /** undefined when it did not exit by itself (timed out, cancelled, killed, could not start). */
  exitCode: number | undefined
  timedOut: boolean
  canceled: boolean
  /** The signal that ended it, if one did. */
  signal: string | undefined
  /** Why it could not run at all (ENOENT...), if so. */
  startError: string | undefined
  durationMs: number
}

export const DEFAULT_TIMEOUT_MS = 30_000
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024

export async function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const started = performance.now()
  const run = await execa(command, [...args], {
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
    env: options.env,
    extendEnv: options.extendEnv ?? true,
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    cancelSignal: options.signal,
    maxBuffer: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    all: options.all ?? false,
    reject: false,
    stripFinalNewline: false,
  })
  const result: CommandResult = {
    stdout: String(run.stdout ?? ''),
    stderr: String(run.stderr ?? ''),
    all: String(run.all ?? ''),
    exitCode: run.exitCode,
    timedOut: Boolean(run.timedOut),
    canceled: Boolean(run.isCanceled),
    signal: run.signal ?? undefined,
    startError: run.exitCode === undefined && !run.timedOut && !run.isCanceled && !run.signal ? String(run.originalMessage ?? run.shortMessage) : undefined,
    durationMs: Math.round(performance.now() - started),
  }
  if (result.exitCode !== 0 && !options.allowFailure) throw commandError(command, args, result, timeoutMs, options.component)
  return result
}

/** The error for a run that did not exit 0, as one line. */
export function commandError(command: string, args: readonly string[], result: CommandResult, timeoutMs: number, component?: string): SystemCommandError {
  const line = [command, ...args].join(' ')
  const stderr = result.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ')
  let what: string
  if (result.timedOut) what = `did not finish within ${timeoutMs} ms and was killed`
  else if (result.startError) what = `could not be run: ${result.startError}`
  else if (result.canceled) what = 'was cancelled'
  else if (result.exitCode === undefined) what = `was killed by ${result.signal ?? 'a signal'}`
  else what = `exited ${result.exitCode} after ${result.durationMs} ms`
  const message = `${component ? `${component}: ` : ''}${line.length > 200 ? line.slice(0, 200) + '...' : line}: ${what}${stderr ? `: ${stderr}` : ''}`
  return new SystemCommandError(message, undefined, {command: [command, ...args], exitCode: result.exitCode, stderr: result.stderr, timedOut: result.timedOut, durationMs: result.durationMs})
}
