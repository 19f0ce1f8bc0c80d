import {Counter, Gauge, Histogram, type Registry} from 'prom-client'
import type {WatchObserver} from './watch.js'

/**
 * `vxlan up --watch --metrics`: the overlay's families, on the registry that already
 * holds cnet_build_info and the process and Node.js metrics. docs/overlay.md lists
 * these names; a test checks the list against a scrape.
 */
export const OVERLAY_METRIC_NAMES = [
  'cnet_overlay_peers',
  'cnet_overlay_reconciles_total',
  'cnet_overlay_reconcile_duration_seconds',
  'cnet_overlay_operations_applied_total',
  'cnet_overlay_drift_repaired_total',
  'cnet_overlay_lease_changes_total',
  'cnet_overlay_change_duration_seconds',
  'cnet_overlay_failures_total',
] as const

/** Reconciles that find the kernel changed behind cnet's back: what they apply is drift repaired. */
const REPAIRS = new Set(['periodic resync', 'retry'])

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** The observer to give vxlanWatch, feeding the families on `registry`. */
export function overlayMetrics(registry: Registry): WatchObserver {
  const registers = [registry]
  const peers = new Gauge({name: 'cnet_overlay_peers', help: 'Peers programmed in the kernel, by address family', labelNames: ['family'], registers})
  const reconciles = new Counter({name: 'cnet_overlay_reconciles_total', help: 'Full reconciles of the kernel against the leases, by why they ran', labelNames: ['why'], registers})
  const reconcileSeconds = new Histogram({name: 'cnet_overlay_reconcile_duration_seconds', help: 'How long a full reconcile took (read the kernel, plan, apply)', buckets: BUCKETS, registers})
  const applied = new Counter({name: 'cnet_overlay_operations_applied_total', help: 'Kernel operations applied (and iptables transactions), by what applied them', labelNames: ['by'], registers})
  const drift = new Counter({name: 'cnet_overlay_drift_repaired_total', help: 'Operations a periodic resync or a retry applied: the kernel had drifted from the leases', registers})
  const changes = new Counter({name: 'cnet_overlay_lease_changes_total', help: 'Leases whose kernel entries a watch event changed', registers})
  const changeSeconds = new Histogram({name: 'cnet_overlay_change_duration_seconds', help: 'From a batch of watch events to its operations applied', buckets: BUCKETS, registers})
  const failures = new Counter({name: 'cnet_overlay_failures_total', help: 'Failed kernel changes or reads; retryable ones are retried', labelNames: ['retryable'], registers})
  for (const family of ['4', '6']) peers.labels(family).set(0)
  for (const by of ['reconcile', 'event']) applied.labels(by).inc(0)
  return {
    reconciled: (r) => {
      reconciles.labels(r.why).inc()
      reconcileSeconds.observe(r.ms / 1000)
      applied.labels('reconcile').inc(r.operations)
      if (REPAIRS.has(r.why)) drift.inc(r.operations)
    },
    changed: (c) => {
      changes.inc(c.leases.length)
      changeSeconds.observe(c.ms / 1000)
      applied.labels('event').inc(c.operations)
    },
    failed: (_error, retryable) => failures.labels(String(retryable)).inc(),
    programmed: (counts) => {
      peers.labels('4').set(counts[4])
      peers.labels('6').set(counts[6])
    },
  }
}
