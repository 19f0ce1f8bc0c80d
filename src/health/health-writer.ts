import {ConfigError} from '../lib/errors.js'
import type {Logger} from '../lib/log.js'
import {Backoff, type RetryPolicy} from '../lib/retry.js'
import {isStoreUnavailable} from '../store/index.js'
import type {KeptLease, Store} from '../store/store.js'

const PARALLEL_WRITES = 32
/** etcd away or a write refused: again soon, then at most every 10 s. */
export const WRITE_RETRY: RetryPolicy = {initialMs: 250, maxMs: 10_000}

/** How a failed write is handled. */
export type WriteFailure =
  /** etcd could not be reached: kept, retried quietly on the policy. */
  | 'unavailable'
  /** etcd refuses our credentials: the prober cannot go on. */
  | 'fatal'
  /** anything else (a lease lost between keep-alives, say): logged with its stack, counted, kept and retried. */
  | 'error'

export function classifyWriteFailure(error: unknown): WriteFailure {
  if (isStoreUnavailable(error)) return 'unavailable'
  if (error instanceof ConfigError) return 'fatal'
  return 'error'
}

/** value to put, or null to delete */
export type PendingWrite = [key: string, value: string | null]

/** The first few pending writes (copying the whole backlog per batch was quadratic at start-up). */
export function takeBatch(pending: ReadonlyMap<string, string | null>, max = PARALLEL_WRITES): PendingWrite[] {
  const batch: PendingWrite[] = []
  for (const entry of pending) if (batch.push(entry) >= max) break
  return batch
}

export interface BatchVerdict {
  /** Keys written with the value still pending (a newer value may have arrived meanwhile: that one stays). */
  done: string[]
  failures: {key: string; error: unknown; kind: WriteFailure}[]
}

export function judgeBatch(batch: readonly PendingWrite[], outcomes: readonly PromiseSettledResult<unknown>[]): BatchVerdict {
  const verdict: BatchVerdict = {done: [], failures: []}
  batch.forEach(([key], i) => {
    const outcome = outcomes[i]!
    if (outcome.status === 'fulfilled') verdict.done.push(key)
    else verdict.failures.push({key, error: outcome.reason, kind: classifyWriteFailure(outcome.reason)})
  })
  return verdict
}

export interface HealthWriterOptions {
  logger: Logger
  /** A failure the prober cannot go on from (etcd refuses its credentials). */
  onFatal?: (error: Error) => void
  policy?: RetryPolicy
  random?: () => number
}

/**
 * Writes the prober's health records under its own kept lease, so a dead prober's
 * results expire. Writes are coalesced per key (only the latest value matters) and
 * kept while etcd is unreachable, then written when it answers again, retried on the
 * one backoff policy.
 */
export class HealthWriter {
  private readonly pending = new Map<string, string | null>()
  /** Per health key, the key that must exist for a put to be written (the instance's node index entry). */
  private readonly required = new Map<string, string>()
  private flushing: Promise<void> | undefined
  private retry: NodeJS.Timeout | undefined
  private unreachable = false
  private stopped = false
  private readonly backoff: Backoff
  private readonly logger: Logger
  /** Puts and deletes done, for metrics and the benchmark. */
  writes = 0
  /** Puts not written because their required key was gone (the instance had moved or gone). */
  dropped = 0
  /** Writes that failed for a reason other than etcd being away. */
  errors = 0

  constructor(private readonly store: Store, private readonly lease: KeptLease, private readonly options: HealthWriterOptions) {
    this.logger = options.logger
    this.backoff = new Backoff(options.policy ?? WRITE_RETRY, options.random)
  }

  static async start(store: Store, ttlSeconds: number, options: HealthWriterOptions): Promise<HealthWriter> {
    const logger = options.logger
    const lease = await store.keepLease(ttlSeconds, {
      onRegranted: (id) => logger.warn('etcd lease was lost; granted again and put the health records back', {lease: id}),
      onUnreachable: (error) => logger.warn('etcd unreachable; probing goes on, results are written when it is back', {error: error.message}),
      onReachable: () => logger.info('etcd reachable again'),
    })
    return new HealthWriter(store, lease, options)
  }

  get leaseId(): string {
    return this.lease.id
  }

  get backlog(): number {
    return this.pending.size
  }

  /**
   * Writes the record (coalesced with any pending one). With `required`, the write
   * happens only while that key exists: the instance's node index entry, so a result
   * written after the instance moved to another node (between the move and this
   * prober's watch telling it) cannot overwrite the new node's record.
   */
  put(key: string, value: string, required?: string): void {
    if (required === undefined) this.required.delete(key)
    else this.required.set(key, required)
    this.pending.set(key, value)
    this.kick()
  }

  remove(key: string): void {
    this.lease.forget(key)
    this.required.delete(key)
    this.pending.set(key, null)
    this.kick()
  }

  /** Drops anything pending for the key and stops keeping it (it was deleted by someone else's transaction). */
  forget(key: string): void {
    this.lease.forget(key)
    this.required.delete(key)
    this.pending.delete(key)
  }

  /** Writes what is pending (best effort), then stops keeping the lease; with revoke, the records go now. */
  async stop(options: {revoke?: boolean} = {}): Promise<void> {
    this.stopped = true
    clearTimeout(this.retry)
    this.retry = undefined
    await this.flushing
    if (this.pending.size > 0 && !this.unreachable) await this.flush().catch(() => {})
    await this.lease.stop(options).catch(() => {})
  }

  private kick(): void {
    if (this.flushing || this.retry || this.stopped) return
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.flush())
      .finally(() => {
        this.flushing = undefined
        if (this.pending.size > 0 && !this.retry) this.kick()
      })
  }

  private async flush(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = takeBatch(this.pending)
      const outcomes = await Promise.allSettled(batch.map(([key, value]) => this.write(key, value)))
      const verdict = judgeBatch(batch, outcomes)
      for (const key of verdict.done) {
        const written = batch.find(([k]) => k === key)![1]
        if (this.pending.get(key) === written) this.pending.delete(key)
      }
      if (verdict.failures.length === 0) {
        if (this.unreachable) this.logger.info('health records written after the outage')
        this.unreachable = false
        this.backoff.reset()
        continue
      }
      this.report(verdict.failures)
      if (this.stopped) return
      const delay = this.backoff.nextDelayMs()
      this.retry = setTimeout(() => {
        this.retry = undefined
        this.kick()
      }, delay)
      return
    }
  }

  private report(failures: BatchVerdict['failures']): void {
    const fatal = failures.find((f) => f.kind === 'fatal')
    if (fatal) {
      this.stopped = true
      this.options.onFatal?.(fatal.error as Error)
      return
    }
    const errors = failures.filter((f) => f.kind === 'error')
    for (const {key, error} of errors) {
      this.errors++
      this.logger.error('could not write a health record; will retry', {key, error: (error as Error).message})
      this.logger.debug('write failure', {key, stack: (error as Error).stack})
    }
    if (errors.length === 0 && !this.unreachable) this.logger.warn('etcd unreachable; health records wait', {pending: this.pending.size})
    if (errors.length < failures.length) this.unreachable = true
  }

  private async write(key: string, value: string | null): Promise<void> {
    if (value === null) {
      // Only a record under our lease is ours to delete: after an instance moved to another
      // node, the record there is the new prober's.
      const stored = await this.store.get(key)
      if (stored && stored.lease === this.lease.id) await this.store.delete(key, {expectedModRevision: stored.modRevision})
    } else {
      const required = this.required.get(key)
      if (required === undefined) await this.lease.put(key, value)
      else if (!(await this.lease.putIfPresent(key, value, required))) {
        // Not this prober's any more: the watch will say so; nothing to retry.
        this.dropped++
        this.logger.info('health record not written: the instance is no longer in this node\'s index (moved or deregistered)', {key})
        return
      }
    }
    this.writes++
  }
}
