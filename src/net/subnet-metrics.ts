import {Counter, Gauge, type Registry} from 'prom-client'
import {isCnetError, ExitCode} from '../lib/errors.js'
import type {KeptLease, Store} from '../store/store.js'

/**
 * `subnet lease --keep --metrics`: the kept lease's families, on the registry that
 * already holds cnet_build_info and the process and Node.js metrics. docs/overlay.md
 * lists these names; a test checks the list against a scrape.
 */
export const LEASE_METRIC_NAMES = ['cnet_subnet_lease_expiry_seconds', 'cnet_subnet_lease_renewals_total', 'cnet_subnet_lease_renewal_failures_total'] as const

/** A scrape waits this long for etcd before answering from what it last knew. */
const SCRAPE_WAIT_MS = 1000

export interface LeaseMetrics {
  /**
   * The store to acquire and keep the lease through. Its lease keeper is started on it,
   * so the keep-alives it sends come back through here and are counted: no hook in the
   * store is needed.
   */
  store: Store
  /** The lease to report once held (undefined for a reservation: it never expires). */
  follow(lease: KeptLease | undefined): void
}

export function leaseMetrics(registry: Registry, store: Store, now: () => number = Date.now): LeaseMetrics {
  const registers = [registry]
  const renewals = new Counter({name: 'cnet_subnet_lease_renewals_total', help: 'Keep-alives etcd accepted for the subnet lease', registers})
  const failures = new Counter({name: 'cnet_subnet_lease_renewal_failures_total', help: 'Keep-alives that failed: etcd away (unreachable), the lease gone (lost: granted again and the key put back), or refused (error)', labelNames: ['reason'], registers})
  for (const reason of ['unreachable', 'lost', 'error']) failures.labels(reason).inc(0)
  let lease: KeptLease | undefined
  let reserved = false
  let known: {id: string; seconds: number; at: number} | undefined
  new Gauge({
    name: 'cnet_subnet_lease_expiry_seconds',
    help: "Seconds until the subnet lease's etcd lease expires unless renewed (+Inf for a reservation); while etcd is away, counted down from the last answer",
    registers,
    async collect() {
      if (reserved) return this.set(Infinity)
      if (!lease) return
      const id = lease.id
      try {
        const ttl = await Promise.race([store.leaseTimeToLive(id), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('slow')), SCRAPE_WAIT_MS).unref())])
        known = {id, seconds: ttl?.ttlSeconds ?? 0, at: now()}
      } catch {
        // etcd away: what it said last, less the time since.
      }
      if (known) this.set(Math.max(0, known.seconds - (now() - known.at) / 1000))
    },
  })
  const observed = new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'keepAliveOnce') return Reflect.get(target, property, receiver)
      return async (id: string) => {
        try {
          const alive = await target.keepAliveOnce(id)
          if (alive) renewals.inc()
          else failures.labels('lost').inc()
          return alive
        } catch (error) {
          failures.labels(isCnetError(error) && error.exitCode === ExitCode.storeUnavailable ? 'unreachable' : 'error').inc()
          throw error
        }
      }
    },
  })
  return {
    store: observed,
    follow(kept) {
      lease = kept
      reserved = kept === undefined
    },
  }
}
