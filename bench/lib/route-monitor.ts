import {spawn} from 'node:child_process'

/**
 * `ip monitor route` in a namespace, for timing a change from its write in etcd to its
 * route in the kernel: ask `seen(destination)` before writing, then await it.
 */
export function monitorRoutes(netns: string): {seen(destination: string, timeoutMs: number): Promise<void>; stop(): void} {
  const monitor = spawn('ip', ['-n', netns, 'monitor', 'route'], {stdio: ['ignore', 'pipe', 'ignore']})
  const waiters = new Map<string, () => void>()
  // Cleared by stop(): a wait left behind by a failed write neither rejects later nor holds the process.
  const timers = new Set<NodeJS.Timeout>()
  let buffer = ''
  monitor.stdout.on('data', (d: Buffer) => {
    buffer += d.toString()
    const lines = buffer.split('\n')
    buffer = lines.pop() ?? ''
    for (const line of lines) waiters.get(line.split(' ')[0]!)?.()
  })
  return {
    seen(destination, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          timers.delete(timer)
          waiters.delete(destination)
          reject(new Error(`route ${destination} not seen in ${timeoutMs / 1000} s`))
        }, timeoutMs)
        timers.add(timer)
        waiters.set(destination, () => {
          clearTimeout(timer)
          timers.delete(timer)
          waiters.delete(destination)
          resolve()
        })
      })
    },
    stop() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      waiters.clear()
      monitor.kill('SIGTERM')
    },
  }
}
