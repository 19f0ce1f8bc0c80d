import type {Logger} from '../lib/log.js'
import {runCommand} from '../lib/run-command.js'

/**
 * Runs a job for the latest value, never two at once: a value submitted while a run is
 * under way waits, and only the newest of those runs after it (one more run, not one per
 * change). Pure scheduling around the `run` it is given.
 */
export class LatestOnlyRunner<T> {
  private running: Promise<void> | undefined
  private pending: {value: T} | undefined

  constructor(private readonly run: (value: T) => Promise<void>) {}

  submit(value: T): void {
    if (this.running) {
      this.pending = {value}
      return
    }
    this.running = this.loop(value)
  }

  /** Resolves when nothing is running or waiting. */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  private async loop(first: T): Promise<void> {
    let next: {value: T} | undefined = {value: first}
    while (next) {
      this.pending = undefined
      await this.run(next.value).catch(() => {}) // `run` reports its own failures
      next = this.pending
    }
    this.running = undefined
  }
}

export interface HandlerOptions {
  /** The command as an argument array (no shell). */
  command: readonly string[]
  timeoutMs: number
  logger: Logger
}

export interface HandlerStats {
  runs: number
  failures: number
}

/**
 * `svc watch --exec`: runs the command with the JSON on stdin through the one runner
 * (timeout, SIGKILL, capped output). A failing or hanging handler is logged, never fatal.
 */
export function execHandler(options: HandlerOptions): {run: (input: string) => Promise<void>; stats: HandlerStats} {
  const stats: HandlerStats = {runs: 0, failures: 0}
  const [command, ...args] = options.command
  const run = async (input: string) => {
    stats.runs++
    const result = await runCommand(command!, args, {input, timeoutMs: options.timeoutMs, allowFailure: true, maxOutputBytes: 1024 * 1024})
    if (result.exitCode === 0) {
      options.logger.debug('handler ran', {command: options.command, durationMs: result.durationMs})
      return
    }
    stats.failures++
    const why = result.timedOut ? `killed after ${options.timeoutMs} ms` : result.startError ? `could not start: ${result.startError}` : result.exitCode === undefined ? `killed by ${result.signal}` : `exit ${result.exitCode}`
    options.logger.warn('handler failed; watching goes on', {command: options.command, why, stderr: result.stderr.trim().split('\n').slice(-3).join(' | ')})
  }
  return {run, stats}
}
