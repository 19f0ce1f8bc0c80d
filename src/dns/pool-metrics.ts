import type {Worker} from 'node:cluster'
import {type Counter, Registry} from 'prom-client'
import type {MetricsSource} from './http.js'
import {reloadCounter, workersServingGauge} from './metrics.js'
import {collectWorkerMetrics} from './worker-metrics.js'

/**
 * The /metrics of `dns serve`'s primary: the serving workers' metrics, already added up
 * by prom-client, and the primary's own after them (reloads, workers serving).
 */
export class PoolMetrics {
  private readonly own = new Registry()
  readonly reloads: Counter

  constructor(servingWorkers: () => number) {
    this.reloads = reloadCounter(this.own)
    workersServingGauge(this.own, servingWorkers)
  }

  /** What a scrape returns, from these workers (those that serve and are connected). */
  async source(workers: readonly Worker[]): Promise<MetricsSource> {
    const workersText = await collectWorkerMetrics(workers)
    const ownText = await this.own.metrics()
    return {contentType: Registry.PROMETHEUS_CONTENT_TYPE, metrics: async () => `${workersText.trimEnd()}\n${ownText}`}
  }
}
