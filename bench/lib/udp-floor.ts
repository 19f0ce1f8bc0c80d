import {type ChildProcess, spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

/** The runtime floor (udp-floor-server.ts) on 127.0.0.1:port with `workers` processes; stopped by PID. */
export async function startUdpFloor(port: number, workers: number): Promise<{child: ChildProcess; stop(): Promise<void>}> {
  const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url))
  const server = fileURLToPath(new URL('./udp-floor-server.ts', import.meta.url))
  const child = spawn(tsx, [server, String(port), String(workers)], {stdio: ['ignore', 'pipe', 'inherit']})
  try {
    await new Promise<void>((resolve, reject) => {
      // A worker that cannot bind dies and leaves the first process waiting: give up.
      const timer = setTimeout(() => reject(new Error('the UDP floor server did not listen within 15 s')), 15_000)
      child.on('error', reject).on('exit', (code) => reject(new Error(`the UDP floor server exited (${code}) before listening`)))
      child.stdout!.on('data', (chunk: Buffer) => chunk.includes('listening') && (clearTimeout(timer), resolve()))
    })
  } catch (error) {
    child.kill('SIGTERM')
    throw error
  }
  child.removeAllListeners('exit')
  return {
    child,
    async stop() {
      child.kill('SIGTERM')
      await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.on('exit', resolve)))
    },
  }
}
