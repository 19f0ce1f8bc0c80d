import {execa} from 'execa'
import {SystemCommandError} from './errors.js'

export interface CommandResult {
  stdout: string
  stderr: string
  exitCode: number
}

export interface RunOptions {
  input?: string
  env?: Record<string, string>
  timeoutMs?: number
  /** Return non-zero exits instead of throwing. */
  allowFailure?: boolean
}

/**
 * Runs one system command with an argument array (never a shell string). A failure
 * becomes a SystemCommandError (exit 6) carrying the command line, its exit code,
 * its stderr and how long it ran, as execa reports them.
 */
export async function runCommand(command: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  const started = Date.now()
  const result = await execa(command, args, {
    input: options.input,
    env: options.env,
    timeout: options.timeoutMs ?? 30_000,
    reject: false,
    stripFinalNewline: false,
  })
  const exitCode = result.exitCode ?? (result.timedOut ? 124 : 1)
  if (exitCode !== 0 && !options.allowFailure) {
    const stderr = String(result.stderr ?? '').trim().split('\n').slice(-3).join(' | ')
    const what = result.timedOut ? `timed out after ${options.timeoutMs ?? 30_000} ms` : `exited ${exitCode}`
    throw new SystemCommandError(`${command} ${args.join(' ')}: ${what} after ${Date.now() - started} ms${stderr ? `: ${stderr}` : ''}`)
  }
  return {stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode}
}
