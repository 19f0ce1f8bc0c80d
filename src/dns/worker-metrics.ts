import type {Worker} from 'node:cluster'
import {AggregatorRegistry, type Registry} from 'prom-client'

/**
 * /metrics with workers: the primary asks the workers that serve for their metrics and
 * adds them up. prom-client's own cluster aggregation asks every worker and fails the
 * whole scrape after 5 s when one does not answer, which a worker still loading its
 * registry (or just restarted) cannot: it has not started listening for the question.
 */

interface MetricsRequest {
  cnetDns: 'metrics?'
  requestId: number
}

interface MetricsReply {
  cnetDns: 'metrics'
  requestId: number
  metrics?: Awaited<ReturnType<Registry['getMetricsAsJSON']>>
  error?: string
}

const isRequest = (message: unknown): message is MetricsRequest => typeof message === 'object' && message !== null && (message as MetricsRequest).cnetDns === 'metrics?'
const isReply = (message: unknown): message is MetricsReply => typeof message === 'object' && message !== null && (message as MetricsReply).cnetDns === 'metrics'

/** In a worker: answers the primary's questions with this registry's metrics. Returns what stops it. */
export function answerMetricRequests(registry: Registry): () => void {
  const onMessage = (message: unknown) => {
    if (!isRequest(message) || !process.send) return
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({cnetDns: 'metrics', requestId: message.requestId, metrics} satisfies MetricsReply),
      (error: Error) => process.send?.({cnetDns: 'metrics', requestId: message.requestId, error: error.message} satisfies MetricsReply),
    )
  }
  process.on('message', onMessage)
  return () => process.off('message', onMessage)
}

let nextRequestId = 1

/** In the primary: the given workers' metrics added up, in Prometheus' text format; an error when one does not answer within `timeoutMs`. */
export async function collectWorkerMetrics(workers: readonly Worker[], timeoutMs = 5000): Promise<string> {
  const requestId = nextRequestId++
  const cleanups: (() => void)[] = []
  try {
    const replies = await Promise.all(
      workers.map(
        (worker) =>
          new Promise<NonNullable<MetricsReply['metrics']>>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`dns worker ${worker.id} gave no metrics within ${timeoutMs} ms`)), timeoutMs)
            const onMessage = (message: unknown) => {
              if (!isReply(message) || message.requestId !== requestId) return
              if (message.error !== undefined || !message.metrics) reject(new Error(`dns worker ${worker.id}: ${message.error ?? 'no metrics'}`))
              else resolve(message.metrics)
            }
            const onExit = () => reject(new Error(`dns worker ${worker.id} exited before giving its metrics`))
            worker.on('message', onMessage)
            worker.once('exit', onExit)
            cleanups.push(() => {
              clearTimeout(timer)
              worker.off('message', onMessage)
              worker.off('exit', onExit)
            })
            worker.send({cnetDns: 'metrics?', requestId} satisfies MetricsRequest)
          }),
      ),
    )
    return replies.length === 0 ? '' : await AggregatorRegistry.aggregate(replies).metrics()
  } finally {
    for (const cleanup of cleanups) cleanup()
  }
}
