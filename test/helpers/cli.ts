import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

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
}

/** Runs the built `cnet` as a user would: a separate process, its exit code, its streams. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const started = Date.now()
  const [command, argv] = options.netns ? ['ip', ['netns', 'exec', options.netns, process.execPath, CLI, ...args]] : [process.execPath, [CLI, ...args]]
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {env: {...process.env, NO_COLOR: '1', ...options.env}, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({stdout, stderr, exitCode: code ?? (signal ? 128 : 1), durationMs: Date.now() - started})
    })
    child.stdin.end(options.input ?? '')
  })
}

/** CLI environment pointing at an etcd and at key roots of the test's own. */
export function cliEnv(endpoint: string, prefixes: {networkPrefix: string; cnetPrefix: string}): Record<string, string> {
  return {CNET_ETCD_ENDPOINTS: endpoint, CNET_ETCD_PREFIX: prefixes.networkPrefix, CNET_PREFIX: prefixes.cnetPrefix}
}
