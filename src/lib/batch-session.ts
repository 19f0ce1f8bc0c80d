import {type ChildProcess, spawn} from 'node:child_process'
import {SystemCommandError} from './errors.js'
import {type CommandResult, commandError} from './run-command.js'

/**
 * The subprocess runner's other form (src/lib/run-command.ts runs a command once): a
 * long-lived `ip -force -batch -` (or `bridge`), with the same timeout and the same
 * typed error. Lines written to its stdin run as they arrive, so a watch event's few
 * kernel changes cost a pipe write instead of a process start (about 0.3 ms instead of
 * 20-45 ms here). Each run ends with a sentinel line that always fails (the owner's
 * `sentinel` names a device no link can have); its "Command failed -:N" on stderr says
 * every line before it has run, and any other "Command failed" line in between names a
 * line of the run that failed.
 *
 * A tool that exits or hangs past the timeout is gone: the next run starts another. The
 * tool caches device indexes by name for its lifetime, so its owner also closes it when
 * a device may have been made again (src/net/vxlan/ip-kernel.ts: at device changes, full
 * reconciles and failed lines).
 */
export class BatchSession {
  private child: ChildProcess | undefined
  private readonly reader = new FailureReader()
  /** Lines written to the current process so far: the tool numbers them from 1. */
  private written = 0
  private pending: PendingRun | undefined
  /** Runs wait here, so only one is in flight per process. */
  private queue: Promise<unknown> = Promise.resolve()
  /** Counts close() calls: a run queued before one is cancelled, never started on a process nobody will close. */
  private generation = 0
  /** What the tool printed since the current run began (for an exit or a hang). */
  private stderrTail = ''

  constructor(
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly sentinel: (n: number) => string,
    private readonly timeoutMs: number,
    /** Prefixes error messages, e.g. "vxlan". */
    private readonly component: string,
  ) {}

  /** Runs `lines` in order; resolves once all have run, rejects (SystemCommandError) if any failed, the tool died or hung. */
  run(lines: readonly string[]): Promise<void> {
    const generation = this.generation
    const queued = performance.now()
    const result = this.queue.then(() => (generation === this.generation ? this.runNow(lines) : Promise.reject(this.cancelled(queued))))
    this.queue = result.catch(() => undefined)
    return result
  }

  /** Ends the process (it exits on end of input; one busy with a run is killed, the run failing as cancelled); the next run starts another. */
  close(): void {
    this.generation++
    const child = this.child
    this.child = undefined
    if (!child) return
    const run = this.pending
    this.pending = undefined
    if (run) {
      // Busy with lines nobody waits for now (perhaps hung): no reason to let it finish.
      clearTimeout(run.timer)
      run.reject(this.cancelled(run.started))
      child.kill('SIGKILL')
      return
    }
    child.stdin?.end()
    // One that does not leave on end of input within a second is killed.
    const timer = setTimeout(() => child.kill('SIGKILL'), 1000)
    timer.unref()
    child.once('exit', () => clearTimeout(timer))
  }

  private runNow(lines: readonly string[]): Promise<void> {
    const child = this.child ?? this.start()
    const first = this.written + 1
    const sentinelLine = first + lines.length
    this.written = sentinelLine
    const started = performance.now()
    this.stderrTail = ''
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.die({timedOut: true}), this.timeoutMs)
      this.pending = {first, sentinelLine, failures: [], lines, started, timer, resolve, reject}
      child.stdin!.write(lines.map((l) => l + '\n').join('') + this.sentinel(sentinelLine) + '\n')
    })
  }

  private start(): ChildProcess {
    const child = spawn(this.command, [...this.args], {stdio: ['pipe', 'ignore', 'pipe']})
    this.child = child
    this.written = 0
    this.reader.reset()
    this.stderrTail = ''
    child.stdin!.on('error', () => {}) // a dead tool shows as its exit
    child.stderr!.on('data', (chunk: Buffer) => this.onStderr(child, chunk.toString('utf8')))
    child.on('error', (error) => {
      if (child.pid === undefined) this.die({startError: error.message}, child)
    })
    // 'close', not 'exit': by then its last words on stderr have been read.
    child.on('close', (code, signal) => this.die({exitCode: code ?? undefined, signal: signal ?? undefined}, child))
    return child
  }

  private onStderr(child: ChildProcess, text: string): void {
    if (child !== this.child) return
    this.stderrTail = (this.stderrTail + text).slice(-4096)
    for (const failure of this.reader.feed(text)) {
      const run = this.pending
      if (!run) continue
      if (failure.line === run.sentinelLine) this.finish(run)
      else if (failure.line >= run.first && failure.line < run.sentinelLine) run.failures.push(failure)
    }
  }

  private finish(run: PendingRun): void {
    clearTimeout(run.timer)
    this.pending = undefined
    if (run.failures.length === 0) return run.resolve()
    // The tool runs on (-force): the failure is the lines', not an exit of the process.
    const failed = run.failures.map((f) => `${run.lines[f.line - run.first]}: ${f.messages.join(' ') || 'failed'}`)
    const line = [this.command, ...this.args].join(' ')
    const message = `${this.component}: ${line}: ${failed.length} of ${run.lines.length} line(s) failed: ${failed.slice(0, 3).join(' | ')}`
    run.reject(new SystemCommandError(message, undefined, {command: [this.command, ...this.args], exitCode: undefined, stderr: failed.join('\n'), timedOut: false, durationMs: Math.round(performance.now() - run.started)}))
  }

  private cancelled(started: number): SystemCommandError {
    return commandError(this.command, this.args, {...EMPTY_RESULT, canceled: true, durationMs: Math.round(performance.now() - started)}, this.timeoutMs, this.component)
  }

  /** The process is gone or must go: the run in flight fails with why, and the next run starts a fresh one. */
  private die(how: Partial<CommandResult>, child = this.child): void {
    if (child !== this.child || !child) return
    this.child = undefined
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    const run = this.pending
    this.pending = undefined
    if (!run) return
    clearTimeout(run.timer)
    run.reject(commandError(this.command, this.args, this.result({stderr: this.stderrTail, ...how}, run), this.timeoutMs, this.component))
  }

  private result(how: Partial<CommandResult>, run: PendingRun): CommandResult {
    return {...EMPTY_RESULT, ...how, durationMs: Math.round(performance.now() - run.started)}
  }
}

const EMPTY_RESULT: CommandResult = {stdout: '', stderr: '', all: '', exitCode: undefined, timedOut: false, canceled: false, signal: undefined, startError: undefined, durationMs: 0}

interface PendingRun {
  first: number
  sentinelLine: number
  failures: BatchFailure[]
  lines: readonly string[]
  started: number
  timer: NodeJS.Timeout
  resolve: () => void
  reject: (error: Error) => void
}

export interface BatchFailure {
  /** The input line that failed, counted from 1 over the process's life. */
  line: number
  /** What the tool printed about it. */
  messages: string[]
}

/**
 * Reads a batch tool's stderr as it comes: the lines since the last "Command failed
 * -:N" are the messages of line N. Pure; fed in chunks that may split lines.
 */
export class FailureReader {
  private partial = ''
  private messages: string[] = []

  feed(text: string): BatchFailure[] {
    const lines = (this.partial + text).split('\n')
    this.partial = lines.pop() ?? ''
    const failures: BatchFailure[] = []
    for (const line of lines) {
      const failed = /^Command failed -:(\d+)$/.exec(line.trim())
      if (failed) {
        failures.push({line: Number(failed[1]), messages: this.messages})
        this.messages = []
      } else if (line.trim() !== '') {
        this.messages.push(line.trim())
      }
    }
    return failures
  }

  reset(): void {
    this.partial = ''
    this.messages = []
  }
}
