import {type ChildProcess, spawn} from 'node:child_process'
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
  const run = await spawnAndWait(command, args, options, timeoutMs)
  const result: CommandResult = {...run, durationMs: Math.round(performance.now() - started)}
  if (result.exitCode !== 0 && !options.allowFailure) throw commandError(command, args, result, timeoutMs, options.component)
  return result
}

/** Output kept up to a byte cap; what comes after is read and dropped, so the command never blocks on a full pipe. */
class CappedOutput {
  private readonly chunks: Buffer[] = []
  private size = 0
  constructor(private readonly cap: number) {}

  add(chunk: Buffer): void {
    if (this.size >= this.cap) return
    const kept = chunk.length > this.cap - this.size ? chunk.subarray(0, this.cap - this.size) : chunk
    this.chunks.push(kept)
    this.size += kept.length
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8')
  }
}

/**
 * Node's own spawn, not a library's: this runs on every container start (the CNI plugin
 * runs its delegate through it), where loading and setting up a process library cost
 * more than the rest of cnet's share.
 */
function spawnAndWait(command: string, args: readonly string[], options: RunOptions, timeoutMs: number): Promise<Omit<CommandResult, 'durationMs'>> {
  const cap = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES
  const stdout = new CappedOutput(cap)
  const stderr = new CappedOutput(cap)
  const all = new CappedOutput(options.all ? cap * 2 : 0)
  let timedOut = false
  let canceled = false
  const outcome = (exitCode: number | undefined, signal: string | undefined, startError: string | undefined) => ({
    stdout: stdout.text(),
    stderr: stderr.text(),
    all: all.text(),
    exitCode,
    timedOut,
    canceled,
    signal,
    startError,
  })
  if (options.signal?.aborted) {
    canceled = true
    return Promise.resolve(outcome(undefined, undefined, undefined))
  }
  const env = options.env === undefined ? process.env : (options.extendEnv ?? true) ? {...process.env, ...options.env} : options.env
  return new Promise((resolve) => {
    let child: ChildProcess
    try {
      child = spawn(command, [...args], {env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']})
    } catch (error) {
      // Arguments Node refuses outright (a NUL byte in one, say): the command never started.
      resolve(outcome(undefined, undefined, (error as Error).message))
      return
    }
    let settled = false
    // A child of the command may still hold its stdout or stderr open: once the command
    // itself is gone, stop waiting for them.
    const stopReading = () => {
      child.stdout?.destroy()
      child.stderr?.destroy()
    }
    const kill = () => {
      if (child.exitCode !== null || child.signalCode !== null) return stopReading()
      child.kill('SIGKILL')
      child.once('exit', stopReading)
    }
    const timer = setTimeout(() => {
      timedOut = true
      kill()
    }, timeoutMs)
    const onAbort = () => {
      canceled = true
      kill()
    }
    options.signal?.addEventListener('abort', onAbort, {once: true})
    const finish = (exitCode: number | undefined, signal: string | undefined, startError: string | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      resolve(outcome(exitCode, signal, startError))
    }
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.add(chunk)
      all.add(chunk)
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.add(chunk)
      all.add(chunk)
    })
    // It could not be started (ENOENT, EACCES): there is no process to wait for.
    child.on('error', (error) => {
      if (child.pid === undefined) finish(undefined, undefined, error.message)
    })
    child.on('close', (code, signal) => finish(code ?? undefined, signal ?? undefined, undefined))
    if (child.stdin) {
      // A command that exits without reading all of its input is not an error of ours.
      child.stdin.on('error', () => {})
      child.stdin.end(options.input)
    }
  })
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
