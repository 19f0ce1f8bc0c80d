import {Counter, Gauge, Histogram, type Registry} from 'prom-client'
import type {HealthStatus} from '../svc/model.js'
import type {ActiveCheck} from './decisions.js'
import type {Prober, ProberOptions} from './prober.js'

/**
 * `health run --metrics`: the prober's families, on the registry that already holds
 * cnet_build_info and the process and Node.js metrics. docs/services.md lists these
 * names and a test checks the list against a scrape.
 */
export const HEALTH_METRIC_NAMES = [
  'cnet_health_checks',
  'cnet_health_probes_total',
  'cnet_health_probe_duration_seconds',
  'cnet_health_late_starts_total',
  'cnet_health_watch_events_total',
  'cnet_health_writes_total',
  'cnet_health_dropped_writes_total',
  'cnet_health_pending_writes',
  'cnet_health_errors_total',
] as const

/** A probe starting this long after its slot counts as a late start (the benchmark's threshold). */
export const LATE_START_MS = 100

export interface HealthMetrics {
  /** The hooks to give Prober.start. */
  hooks: Pick<ProberOptions, 'onProbe' | 'onProbeStart'>
  /** The prober whose figures the collected families read. */
  follow(prober: Prober): void
}

export function healthMetrics(registry: Registry): HealthMetrics {
  let prober: Prober | undefined
  const registers = [registry]
  new Gauge({
    name: 'cnet_health_checks',
    help: 'Checks this prober runs, by the status they publish',
    labelNames: ['status'],
    registers,
    collect() {
      const counts = prober?.statusCounts() ?? {passing: 0, warning: 0, critical: 0}
      for (const [status, n] of Object.entries(counts)) this.labels(status).set(n)
    },
  })
  const probes = new Counter({name: 'cnet_health_probes_total', help: 'Probes run, by check type and result', labelNames: ['type', 'result'], registers})
  const duration = new Histogram({
    name: 'cnet_health_probe_duration_seconds',
    help: 'How long a probe took, by check type',
    labelNames: ['type'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  })
  const late = new Counter({name: 'cnet_health_late_starts_total', help: `Probes started more than ${LATE_START_MS} ms after their slot`, registers})
  /** A counter that follows a running total kept by the prober. */
  const following = (name: string, help: string, read: (p: Prober) => number) => {
    let seen = 0
    new Counter({
      name,
      help,
      registers,
      collect() {
        const now = prober ? read(prober) : 0
        if (now > seen) this.inc(now - seen)
        seen = Math.max(seen, now)
      },
    })
  }
  following('cnet_health_watch_events_total', "Per-node index events the watch delivered (this node's instances only)", (p) => p.stats().watchEvents)
  following('cnet_health_writes_total', 'Health records written or deleted', (p) => p.stats().writes)
  following('cnet_health_dropped_writes_total', "Results not written because the instance had left this node's index (moved or deregistered)", (p) => p.stats().droppedWrites)
  following('cnet_health_errors_total', 'Failures other than etcd being away (see the log)', (p) => p.stats().errors)
  new Gauge({
    name: 'cnet_health_pending_writes',
    help: 'Health records waiting to be written (etcd away)',
    registers,
    collect() {
      this.set(prober?.stats().pendingWrites ?? 0)
    },
  })
  return {
    hooks: {
      onProbe: (type: ActiveCheck['type'], status: HealthStatus, durationMs: number) => {
        probes.labels(type, status).inc()
        duration.labels(type).observe(durationMs / 1000)
      },
      onProbeStart: (lateMs: number) => {
        if (lateMs > LATE_START_MS) late.inc()
      },
    },
    follow(p) {
      prober = p
    },
  }
}
