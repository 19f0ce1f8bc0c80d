import type {Logger} from '../lib/log.js'
import {isStoreUnavailable} from '../store/index.js'
import type {KeptLease, Store} from '../store/store.js'

const RETRY_MS = 1000
const PARALLEL_WRITES = 32

/**
 * Writes the prober's health records under its own kept lease, so a dead prober's
 * results expire. Writes are coalesced per key (only the latest value matters) and
 * kept while etcd is unreachable, then written when it answers again.
 */
export class HealthWriter {
  /** value to put, or null to delete */
  private readonly pending = new Map<string, string | null>()
  private flushing: Promise<void> | undefined
  private retry: NodeJS.Timeout | undefined
  private unreachable = false
  private stopped = false
  /** Puts and deletes done, for metrics and the benchmark. */
  writes = 0

  private constructor(private readonly store: Store, private readonly lease: KeptLease, private readonly logger: Logger) {}

  static async start(store: Store, ttlSeconds: number, logger: Logger): Promise<HealthWriter> {
    const lease = await store.keepLease(ttlSeconds, {
      onRegranted: (id) => logger.warn('etcd lease was lost; granted again and put the health records back', {lease: id}),
      onUnreachable: (error) => logger.warn('etcd unreachable; probing goes on, results are written when it is back', {error: error.message}),
      onReachable: () => logger.info('etcd reachable again'),
    })
    return new HealthWriter(store, lease, logger)
  }

  get leaseId(): string {
    return this.lease.id
  }

  get backlog(): number {
    return this.pending.size
  }

  put(key: string, value: string): void {
    this.pending.set(key, value)
    this.kick()
  }

  remove(key: string): void {
    this.lease.forget(key)
    this.pending.set(key, null)
    this.kick()
  }

  /** Writes what is pending (best effort), then stops keeping the lease; with revoke, the records go now. */
  async stop(options: {revoke?: boolean} = {}): Promise<void> {
    this.stopped = true
    clearTimeout(this.retry)
    await this.flushing
    if (this.pending.size > 0 && !this.unreachable) await this.flush().catch(() => {})
    await this.lease.stop(options).catch(() => {})
  }

  private kick(): void {
    if (this.flushing || this.retry || this.stopped) return
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush()).finally(() => {
      this.flushing = undefined
      if (this.pending.size > 0 && !this.retry) this.kick()
    })
  }

  private async flush(): Promise<void> {
    while (this.pending.size > 0) {
      // the first few only: copying the whole backlog per batch was quadratic at start-up
      const batch: [string, string | null][] = []
      for (const entry of this.pending) if (batch.push(entry) >= PARALLEL_WRITES) break
      const outcomes = await Promise.allSettled(batch.map(([key, value]) => this.write(key, value)))
      let failed = false
      batch.forEach(([key, value], i) => {
        const outcome = outcomes[i]
        // A newer value may have arrived meanwhile: only clear what was written.
        if (outcome.status === 'fulfilled') {
          if (this.pending.get(key) === value) this.pending.delete(key)
          return
        }
        if (isStoreUnavailable(outcome.reason)) failed = true
        else {
          this.logger.error('could not write a health record', {key, error: (outcome.reason as Error).message})
          if (this.pending.get(key) === value) this.pending.delete(key)
        }
      })
      if (failed) {
        if (!this.unreachable) this.logger.warn('etcd unreachable; health records wait', {pending: this.pending.size})
        this.unreachable = true
        if (!this.stopped) {
          this.retry = setTimeout(() => {
            this.retry = undefined
            this.kick()
          }, RETRY_MS)
        }
        return
      }
      if (this.unreachable) this.logger.info('health records written after the outage')
      this.unreachable = false
    }
  }

  private async write(key: string, value: string | null): Promise<void> {
    if (value === null) {
      // Only a record under our lease is ours to delete: after an instance moved to another
      // node, the record there is the new prober's.
      const stored = await this.store.get(key)
      if (stored && stored.lease === this.lease.id) await this.store.delete(key, {expectedModRevision: stored.modRevision})
    } else await this.lease.put(key, value)
    this.writes++
  }
}
