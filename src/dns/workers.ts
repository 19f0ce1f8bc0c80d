import cluster, {type Worker} from 'node:cluster'
import type http from 'node:http'
import type {Counter} from 'prom-client'
import {sleepUnlessAborted, untilAborted} from '../lib/abort.js'
import {CnetError} from '../lib/errors.js'
import type {Logger} from '../lib/log.js'
import {Backoff, DEFAULT_RETRY, type RetryPolicy} from '../lib/retry.js'
import {type HttpEndpoints, startHttpEndpoints} from './http.js'
import {workerMemoryEnv} from './worker-memory.js'
import type {ServeSettings} from './serve-options.js'
import {WORKER_SPEC_ENV, type WorkerLaunch, type WorkerSpec} from './worker-spec.js'

/**
 * `dns serve` with workers: one process per core answers queries. Node answers on one
 * thread, and a UDP send costs more than the answer itself, so a second core is the
 * only way past one core's packet rate. The primary forks the workers (each runs the
 * whole server: its own in-memory index fed by its own etcd watch, sharing the sockets
 * through node:cluster), restarts one that dies on the retry policy, hands them a
 * reloaded config, and serves /health, /ready and /metrics for all of them. It never
 * opens etcd itself.
 *
 * The first worker starts alone and the others once it serves: loading a big registry
 * is CPU-bound, and workers loading side by side on the same cores (and asking etcd
 * for the same listing at once) each take as long as all of them together. A worker
 * binds its sockets only after its registry is loaded, so until the others join, the
 * first one answers every query, and correctly.
 */

/** What a worker tells the primary. */
export interface WorkerReport {
  cnetDns: 'state'
  /** Sockets bound and index loaded. */
  listening: boolean
  /** Why it is not ready (etcd unreachable), or undefined when it is. */
  notReady?: string
}

/** What the primary tells a worker: the settings to run with now (a reload). */
export interface WorkerReload {
  cnetDns: 'reload'
  settings: ServeSettings
}



const isWorkerReport = (message: unknown): message is WorkerReport => typeof message === 'object' && message !== null && (message as WorkerReport).cnetDns === 'state'
export const isWorkerReload = (message: unknown): message is WorkerReload => typeof message === 'object' && message !== null && (message as WorkerReload).cnetDns === 'reload'

/** In a worker: tells the primary its state. */
export function reportToPrimary(report: Omit<WorkerReport, 'cnetDns'>): void {
  if (cluster.isWorker && process.send) process.send({cnetDns: 'state', ...report} satisfies WorkerReport)
}

export interface WorkerPool {
  /** Sends new settings to every worker, and to the ones started later. */
  reload(settings: ServeSettings): void
  /** Counts reloads in the primary's own metrics (the workers never see a failed one). */
  readonly reloads: Counter
}

export interface RunWorkersOptions {
  count: number
  launch: WorkerLaunch | undefined
  http: HttpEndpoints
  settings: ServeSettings
  /** Restart delays: a worker that keeps dying is restarted ever more slowly. */
  restartPolicy?: RetryPolicy
  /** A worker that ran this long before dying is restarted at once (the backoff starts over). */
  healthyAfterMs?: number
  /** Called once the workers serve, with the means to reload them. */
  onServing?(pool: WorkerPool): void
}

const STOP_WAIT_MS = 10_000
const START_WAIT_MS = 60_000
const HEALTHY_AFTER_MS = 30_000

export async function runWorkers(options: RunWorkersOptions, logger: Logger, stop: AbortSignal): Promise<void> {
  const {count} = options
  const states = new Map<number, WorkerReport>()
  const workers = new Set<Worker>()
  const backoff = new Backoff(options.restartPolicy ?? DEFAULT_RETRY)
  const healthyAfterMs = options.healthyAfterMs ?? HEALTHY_AFTER_MS
  let settings = options.settings
  let stopping = false

  const launch = options.launch
  if (!launch) throw new Error('dns workers started without their launch settings')
  cluster.setupPrimary({exec: launch.entry, args: [], silent: false})
  const memoryEnv = workerMemoryEnv(process.env, process.execArgv)
  let othersStarted = count === 1
  const fork = () => {
    const joinsServingPool = [...states.values()].some((report) => report.listening)
    const worker = cluster.fork({...memoryEnv, [WORKER_SPEC_ENV]: JSON.stringify({...launch, settings, joinsServingPool} satisfies WorkerSpec)})
    const startedAt = Date.now()
    workers.add(worker)
    worker.on('message', (message: unknown) => {
      if (!isWorkerReport(message)) return
      const wasServing = states.get(worker.id)?.listening === true
      states.set(worker.id, message)
      if (message.listening && !wasServing && [...states.values()].filter((r) => r.listening).length === count && count > 1) logger.info('every dns worker serving', {workers: count})
      if (message.listening && !othersStarted && !stopping) {
        othersStarted = true
        for (let i = 1; i < count; i++) fork()
      }
    })
    worker.on('exit', (code, signal) => {
      workers.delete(worker)
      states.delete(worker.id)
      if (stopping) return
      const delayMs = restartDelayMs(backoff, Date.now() - startedAt, healthyAfterMs)
      logger.warn('dns worker exited; starting another', {worker: worker.id, code, signal, inMs: delayMs, crashesInARow: backoff.failures})
      void sleepUnlessAborted(delayMs, stop).then(() => !stopping && !stop.aborted && fork())
    })
  }
  fork()

  let servers: http.Server[] = []
  try {
    // Loaded once the first worker is on its way: prom-client alone took a tenth of a
    // second of the primary's start, and every worker's start waited for it.
    const {PoolMetrics} = await import('./pool-metrics.js')
    const metrics = new PoolMetrics(() => [...states.values()].filter((r) => r.listening).length)
    const readiness = () => workerReadiness([...states.values()], count)
    await waitUntilServing(count, states, stop)
    if (stop.aborted) return
    servers = await startHttpEndpoints(options.http, readiness, () => metrics.source([...workers].filter((w) => states.get(w.id)?.listening && w.isConnected())))
    logger.info('serving DNS', {workers: count})
    options.onServing?.({
      reloads: metrics.reloads,
      reload(next) {
        settings = next
        for (const worker of workers) if (worker.isConnected()) worker.send({cnetDns: 'reload', settings} satisfies WorkerReload)
      },
    })
    await untilAborted(stop)
  } finally {
    stopping = true
    for (const server of servers) server.close()
    await stopAll([...workers])
  }
}

/**
 * How long to wait before starting a worker again: the retry policy's next delay, so a
 * worker that keeps dying at start is restarted ever more slowly (not every second
 * forever); one that ran `healthyAfterMs` or more starts the count over.
 */
export function restartDelayMs(backoff: Backoff, ranForMs: number, healthyAfterMs: number): number {
  if (ranForMs >= healthyAfterMs) backoff.reset()
  return backoff.nextDelayMs()
}

/**
 * Why the pool is not ready, or undefined when it is: ready once a worker serves and
 * every worker that serves has its registry in step with etcd. A worker still loading
 * has not bound its sockets, so it answers nothing wrong meanwhile.
 */
export function workerReadiness(reports: readonly Omit<WorkerReport, 'cnetDns'>[], count: number): string | undefined {
  const serving = reports.filter((r) => r.listening)
  if (serving.length === 0) return `0 of ${count} workers serving`
  return serving.find((r) => r.notReady)?.notReady
}

/** Resolves when the first worker has bound its sockets; a CnetError when workers keep dying first or none gets there. */
async function waitUntilServing(count: number, states: Map<number, WorkerReport>, stop: AbortSignal): Promise<void> {
  const deadline = Date.now() + START_WAIT_MS
  let deaths = 0
  const onExit = () => deaths++
  cluster.on('exit', onExit)
  try {
    while (!stop.aborted) {
      const serving = [...states.values()].filter((r) => r.listening).length
      if (serving >= 1) return
      if (deaths >= count && serving === 0) throw new CnetError('dns: every worker exited before serving (their errors are above)')
      if (Date.now() > deadline) throw new CnetError(`dns: ${serving} of ${count} workers serving after ${START_WAIT_MS / 1000} s`)
      await nextWorkerEvent(1000, stop)
    }
  } finally {
    cluster.off('exit', onExit)
  }
}

/**
 * Resolves when a worker next sends a message or exits (its own handlers have run by
 * then: this resumes in a microtask after them), when `stop` is aborted, or after `ms`.
 * The first worker's report is what `/ready` waits on, so it is taken as it comes, not
 * at the next turn of a poll.
 */
function nextWorkerEvent(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      cluster.off('message', done)
      cluster.off('exit', done)
      stop.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    cluster.on('message', done)
    cluster.on('exit', done)
    stop.addEventListener('abort', done)
  })
}

async function stopAll(workers: Worker[]): Promise<void> {
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve()
          const timer = setTimeout(() => worker.process.kill('SIGKILL'), STOP_WAIT_MS)
          worker.once('exit', () => {
            clearTimeout(timer)
            resolve()
          })
          worker.process.kill('SIGTERM')
        }),
    ),
  )
}
