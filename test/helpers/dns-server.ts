import {availableParallelism} from 'node:os'
import {type ChildProcess, spawn} from 'node:child_process'
import {execa} from 'execa'
import {CLI} from './cli.js'
import {sleep} from './etcd.js'

/** A `cnet dns serve` child process on a free port, stopped by PID. */
export interface DnsServer {
  port: number
  child: ChildProcess
  stderr(): string
  stop(): Promise<number | null>
}

/**
 * Tests run one process (`--workers 1`) unless they pass --workers, so a file's many
 * servers do not each fork one per core; `asStarted` leaves the default alone (benchmarks).
 */
export async function startDnsServer(args: string[], env: Record<string, string>, port: number, options: {asStarted?: boolean; startTimeoutMs?: number} = {}): Promise<DnsServer> {
  const workers = options.asStarted || args.includes('--workers') ? [] : ['--workers', '1']
  const child = spawn(process.execPath, [CLI, 'dns', 'serve', '--listen', `127.0.0.1:${port}`, ...workers, ...args], {env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  child.stdout!.resume()
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000)
  // With workers, the others start once the first serves: wait for all of them, so a
  // test or a benchmark measures the server as it runs, not half of it.
  const workerCount = args.includes('--workers') ? Number(args[args.indexOf('--workers') + 1]) : options.asStarted ? availableParallelism() : 1
  const started = workerCount > 1 ? 'every dns worker serving' : 'serving DNS'
  while (!stderr.includes(started)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await exited
      }
      throw new Error(`dns serve did not start: ${stderr}`)
    }
    await sleep(50)
  }
  return {
    port,
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}

/** Runs dig against 127.0.0.1:port with the given arguments; returns its stdout. */
export async function dig(port: number, args: string[]): Promise<string> {
  const result = await execa('dig', ['@127.0.0.1', '-p', String(port), '+time=3', '+tries=1', ...args], {reject: false})
  return result.stdout
}

export function rcodeOf(digOutput: string): string | undefined {
  return /status: (\w+)/.exec(digOutput)?.[1]
}
