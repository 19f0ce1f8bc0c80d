import cluster, {type Worker} from 'node:cluster'
import type http from 'node:http'
import {AggregatorRegistry} from 'prom-client'
import {untilAborted} from '../lib/abort.js'
import type {Logger} from '../lib/log.js'
import {type HttpEndpoints, type MetricsSource, startHttpEndpoints} from './http.js'

/**
 * `dns serve --workers N`: one process per core answers queries. Node answers on one
 * thread, and a UDP send costs more than the answer itself, so a second core is the
 * only way past one core's packet rate. The primary forks the workers (each runs the
 * whole server: its own in-memory index fed by its own etcd watch, sharing the sockets
 * through node:cluster), restarts one that dies, and serves /health, /ready and
 * /metrics for all of them.
 */

/** What a worker tells the primary. */
export interface WorkerReport {
  cnetDns: 'state'
  /** Sockets bound and index loaded. */
  listening: boolean
  /** Why it is not ready (etcd unreachable), or undefined when it is. */
  notReady?: string
}

const isWorkerReport = (message: unknown): message is WorkerReport => typeof message === 'object' && message !== null && (message as WorkerReport).cnetDns === 'state'

/** In a worker: tells the primary its state. */
export function reportToPrimary(report: Omit<WorkerReport, 'cnetDns'>): void {
  if (cluster.isWorker && process.send) process.send({cnetDns: 'state', ...report} satisfies WorkerReport)
}

const RESTART_DELAY_MS = 1000
const STOP_WAIT_MS = 10_000

export async function runWorkers(count: number, http: HttpEndpoints, logger: Logger, stop: AbortSignal): Promise<void> {
  const states = new Map<number, WorkerReport>()
  const workers = new Set<Worker>()
  let stopping = false

  const fork = () => {
    const worker = cluster.fork()
    workers.add(worker)
    worker.on('message', (message: unknown) => {
      if (isWorkerReport(message)) states.set(worker.id, message)
    })
    worker.on('exit', (code, signal) => {
      workers.delete(worker)
      states.delete(worker.id)
      if (stopping) return
      logger.warn('dns worker exited; starting another', {worker: worker.id, code, signal})
      setTimeout(() => !stopping && fork(), RESTART_DELAY_MS).unref()
    })
  }
  for (let i = 0; i < count; i++) fork()

  const readiness = (): string | undefined => {
    const reports = [...states.values()]
    if (reports.length < count || !reports.every((r) => r.listening)) return `${reports.filter((r) => r.listening).length} of ${count} workers serving`
    return reports.find((r) => r.notReady)?.notReady
  }
  const aggregator = new AggregatorRegistry()
  let servers: http.Server[] = []
  try {
    await waitUntilServing(count, states, workers, stop)
    servers = await startHttpEndpoints(http, readiness, async () => aggregatedText(await aggregator.clusterMetrics()))
    logger.info('serving DNS', {workers: count})
    await untilAborted(stop)
  } finally {
    stopping = true
    for (const server of servers) server.close()
    await stopAll([...workers])
  }
}

/** Resolves when every worker has bound its sockets; rejects when they keep dying first. */
async function waitUntilServing(count: number, states: Map<number, WorkerReport>, workers: Set<Worker>, stop: AbortSignal): Promise<void> {
  const deadline = Date.now() + 60_000
  let deaths = 0
  const onExit = () => deaths++
  cluster.on('exit', onExit)
  try {
    while (!stop.aborted) {
      if ([...states.values()].filter((r) => r.listening).length >= count) return
      if (deaths >= count && ![...states.values()].some((r) => r.listening)) throw new Error('dns workers exit before serving; see their errors above')
      if (Date.now() > deadline) throw new Error(`dns workers not serving after 60 s (${workers.size} running)`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  } finally {
    cluster.off('exit', onExit)
  }
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

/** The workers' metrics, already added up and rendered by prom-client. */
function aggregatedText(text: string): MetricsSource {
  return {contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE, metrics: async () => text}
}
