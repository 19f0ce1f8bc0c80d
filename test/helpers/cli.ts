import {spawn} from 'node:child_process'
import {closeSync, openSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

/**
 * The CLI's entry. Started as a program (not `node CLI`), as `cnet` is: its first line
 * then runs it through the shell launcher that sets glibc's tunable (bin/run.js).
 */
export const CLI = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  stdout: string
  stderr: string
  exitCode: number
  durationMs: number
}

export interface CliOptions {
  env?: Record<string, string | undefined>
  input?: string
  timeoutMs?: number
  /** Run inside a network namespace (ip netns exec). */
  netns?: string
  /** Write stdout to this file, as `> FILE` does, and read it back after the exit (no pipe's pace in the time). */
  stdoutFile?: string
  /** With stdoutFile: leave it there unread (stdout is then ''), for a caller that reads it later. */
  leaveStdoutInFile?: boolean
}

/** Runs the built `cnet` as a user would: a separate process, its exit code, its streams. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const started = Date.now()
  const [command, argv] = options.netns ? ['ip', ['netns', 'exec', options.netns, CLI, ...args]] : [CLI, args]
  const file = options.stdoutFile === undefined ? undefined : openSync(options.stdoutFile, 'w')
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn(command, argv, {env: {...process.env, NO_COLOR: '1', ...options.env}, stdio: ['pipe', file ?? 'pipe', 'pipe']})
    // Decoded once at the end: a character split between two reads stays whole.
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout?.on('data', (d: Buffer) => stdout.push(d))
    child.stderr!.on('data', (d: Buffer) => stderr.push(d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const durationMs = Date.now() - started
      const out = options.stdoutFile === undefined ? Buffer.concat(stdout).toString() : options.leaveStdoutInFile ? '' : readFileSync(options.stdoutFile, 'utf8')
      resolve({stdout: out, stderr: Buffer.concat(stderr).toString(), exitCode: code ?? (signal ? 128 : 1), durationMs})
    })
    child.stdin!.end(options.input ?? '')
  }).finally(() => file !== undefined && closeSync(file))
}

/** CLI environment pointing at an etcd and at key roots of the test's own. */
export function cliEnv(endpoint: string, prefixes: {networkPrefix: string; cnetPrefix: string}): Record<string, string> {
  return {CNET_ETCD_ENDPOINTS: endpoint, CNET_ETCD_PREFIX: prefixes.networkPrefix, CNET_PREFIX: prefixes.cnetPrefix}
}

export interface TtyOptions {
  /** The terminal's width (stty cols). */
  columns?: number
  /** Typed at the terminal. */
  input?: string
  timeoutMs?: number
}

/**
 * Runs the built cnet under a pseudo-terminal (util-linux `script`), so stdin, stdout
 * and stderr are a TTY, as a person at a terminal runs it. The terminal merges stdout
 * and stderr and ends lines with \r\n.
 */
export function runCliOnTty(args: string[], env: Record<string, string | undefined>, options: TtyOptions = {}): Promise<CliResult> {
  const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`
  const command = [CLI, ...args].map(quote).join(' ')
  const sized = options.columns ? `stty cols ${options.columns} rows 50; exec ${command}` : command
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', sized, '/dev/null'], {env: {...process.env, ...env}, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({stdout, stderr, exitCode: code ?? 1, durationMs: Date.now() - started})
    })
    if (options.input !== undefined) child.stdin.write(options.input)
    child.stdin.end()
  })
}

/** A long-running cnet command (`--watch`, `serve`, `run`) started by a test. */
export interface CliDaemon {
  readonly pid: number | undefined
  /** Everything it wrote on stderr (its logs) so far. */
  log(): string
  /** Everything it wrote on stdout so far. */
  stdout(): string
  /** Whether it is still running. */
  running(): boolean
  /** Waits until its logs contain `text`; fails past the deadline with the log's tail. */
  waitForLog(text: string, timeoutMs?: number): Promise<void>
  /** SIGTERM, then its exit code; SIGKILL and 'still running' when it has not exited within 20 s. */
  stop(): Promise<number | null | 'still running'>
}

/**
 * Starts cnet in the background, as a service manager would (inside a namespace with
 * `netns`), collecting its output. The test stops it by its PID with `stop()`.
 */
export function startCliDaemon(args: string[], options: {env?: Record<string, string | undefined>; netns?: string} = {}): CliDaemon {
  const [command, argv] = options.netns ? ['ip', ['netns', 'exec', options.netns, CLI, ...args]] : [CLI, args]
  const child = spawn(command, argv, {env: {...process.env, NO_COLOR: '1', ...options.env}, stdio: ['ignore', 'pipe', 'pipe']})
  let log = ''
  let stdout = ''
  child.stderr.on('data', (d) => (log += d))
  child.stdout.on('data', (d) => (stdout += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    pid: child.pid,
    log: () => log,
    stdout: () => stdout,
    running: () => child.exitCode === null && child.signalCode === null,
    async waitForLog(text, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs
      while (!log.includes(text)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`cnet ${args.join(' ')}: no ${text} in its log${child.exitCode !== null ? ` (exited ${child.exitCode})` : ` within ${timeoutMs} ms`}:\n${log.slice(-2000)}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const code = await Promise.race([exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 20_000).unref())])
      if (code === 'still running') child.kill('SIGKILL')
      return code
    },
  }
}
