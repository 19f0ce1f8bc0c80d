import {backoffDelayMs} from '../lib/retry.js'
import type {EtcdStore} from './etcd-store.js'
import type {KeptLease, KeptLeaseHandlers, LeaseId} from './store.js'

interface AttachedKey {
  value: string
  /**
   * `put` keys are put back unconditionally after a re-grant; `guarded` keys (written
   * with create or compareAndSwap) only if nobody took them meanwhile.
   */
  mode: 'put' | 'guarded'
}

/**
 * How long a kept lease waits after its n-th failed keep-alive in a row: from 0.5 s,
 * doubling, never above a third of the TTL (so a retry still lands before the lease
 * could expire) nor 10 s, with jitter (half to all of that).
 */
export function keptLeaseRetryMs(failures: number, ttlSeconds: number, random: () => number = Math.random): number {
  return backoffDelayMs(failures, {initialMs: 500, maxMs: Math.min((ttlSeconds * 1000) / 3, 10_000)}, random)
}

/**
 * A lease kept alive by a keep-alive every TTL/3. When etcd says the lease is gone
 * (it expired during an outage, or the leader lost it), a new lease is granted and
 * every attached key put back, which is what etcd3's own Lease leaves to the caller.
 * While etcd is unreachable it keeps retrying with backoff (keptLeaseRetryMs).
 */
export class EtcdKeptLease implements KeptLease {
  private currentId: LeaseId
  private readonly keys = new Map<string, AttachedKey>()
  /** Keys not yet put back under the current lease after a re-grant (an attempt can fail half-way). */
  private readonly restoring = new Set<string>()
  private lostId: LeaseId | undefined
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private unreachable = false
  /** Failed ticks in a row, for the backoff; 0 after a success. */
  private failures = 0
  private cycle: Promise<void> = Promise.resolve()

  private constructor(
    private readonly store: EtcdStore,
    readonly ttlSeconds: number,
    private readonly handlers: KeptLeaseHandlers,
    id: LeaseId,
  ) {
    this.currentId = id
  }

  static async start(store: EtcdStore, ttlSeconds: number, handlers: KeptLeaseHandlers): Promise<EtcdKeptLease> {
    const id = await store.grantLease(ttlSeconds)
    const lease = new EtcdKeptLease(store, ttlSeconds, handlers, id)
    lease.schedule(lease.interval())
    return lease
  }

  get id(): LeaseId {
    return this.currentId
  }

  async put(key: string, value: string): Promise<void> {
    await this.store.put(key, value, {lease: this.currentId})
    this.attach(key, {value, mode: 'put'})
  }

  async putAll(entries: readonly {key: string; value: string}[], deletes: readonly string[] = []): Promise<void> {
    const lease = this.currentId
    await this.store.transaction([...entries.map((e) => ({type: 'put' as const, key: e.key, value: e.value, lease})), ...deletes.map((key) => ({type: 'delete' as const, key}))])
    for (const key of deletes) this.forget(key)
    for (const e of entries) this.attach(e.key, {value: e.value, mode: 'put'})
  }

  async create(key: string, value: string): Promise<boolean> {
    return this.compareAndSwap(key, value, 0)
  }

  async compareAndSwap(key: string, value: string, expectedModRevision: number): Promise<boolean> {
    const written = await this.store.compareAndSwap(key, value, expectedModRevision, {lease: this.currentId})
    if (written) this.attach(key, {value, mode: 'guarded'})
    return written
  }

  forget(key: string): void {
    this.keys.delete(key)
    this.restoring.delete(key)
  }

  async stop(options: {revoke?: boolean} = {}): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.cycle.catch(() => {})
    if (options.revoke) await this.store.revokeLease(this.currentId)
  }

  private attach(key: string, attached: AttachedKey): void {
    this.keys.set(key, attached)
    // Written under the current lease just now: nothing left to put back.
    this.restoring.delete(key)
  }

  private interval(): number {
    return Math.max(300, (this.ttlSeconds * 1000) / 3)
  }

  private schedule(ms: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.cycle = this.tick()
    }, ms)
    this.timer.unref?.()
  }

  private async tick(): Promise<void> {
    let next = this.interval()
    try {
      const alive = await this.store.keepAliveOnce(this.currentId)
      if (!alive && !this.stopped) await this.regrant()
      else if (this.restoring.size > 0 && !this.stopped) await this.restore()
      this.failures = 0
      if (this.unreachable) {
        this.unreachable = false
        this.handlers.onReachable?.()
      }
    } catch (error) {
      // Any failure (etcd unreachable, or refusing, e.g. out of space) is retried soon:
      // nothing awaits a tick, so a throw here would be an unhandled rejection.
      if (!this.unreachable) this.handlers.onUnreachable?.(error as Error)
      this.unreachable = true
      this.failures++
      next = keptLeaseRetryMs(this.failures, this.ttlSeconds)
    } finally {
      this.schedule(next)
    }
  }

  private async regrant(): Promise<void> {
    this.lostId ??= this.currentId
    this.currentId = await this.store.grantLease(this.ttlSeconds)
    for (const key of this.keys.keys()) this.restoring.add(key)
    await this.restore()
  }

  /** Puts the attached keys back under the current lease; a guarded key only if nobody took it. */
  private async restore(): Promise<void> {
    for (const key of [...this.restoring]) {
      const attached = this.keys.get(key)
      if (!attached) {
        this.restoring.delete(key)
        continue
      }
      if (attached.mode === 'put') {
        await this.store.put(key, attached.value, {lease: this.currentId})
        this.restoring.delete(key)
        continue
      }
      const existing = await this.store.get(key)
      if (existing === null || existing.value === attached.value) {
        const expected = existing?.modRevision ?? 0
        if (await this.store.compareAndSwap(key, attached.value, expected, {lease: this.currentId})) {
          this.restoring.delete(key)
          continue
        }
      }
      // Taken: by the value seen, or by whoever wrote between that read and our write.
      const theirs = existing !== null && existing.value !== attached.value ? existing.value : ((await this.store.get(key))?.value ?? '')
      this.keys.delete(key)
      this.restoring.delete(key)
      this.handlers.onConflict?.(key, theirs)
    }
    const lost = this.lostId
    this.lostId = undefined
    if (lost !== undefined) this.handlers.onRegranted?.(this.currentId, lost)
  }
}
