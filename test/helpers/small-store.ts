import {StoreUnavailableError} from '../../src/lib/errors.js'
import type {Condition, KeptLease, KeptLeaseHandlers, LeaseId, Listing, StoredValue, Store, TransactionResult, Watch, WatchEvent, WatchHandlers, WriteOp} from '../../src/store/store.js'

/**
 * A small Store in memory for the overlay's unit tests: revisions, leases, prefix
 * watches from a revision (replaying history), compaction (a watch behind it gets
 * onResync with a fresh listing) and injected unavailability. Deliberately plain; the
 * store's own MemoryStore replaces it where the tests need more.
 */
export class SmallStore implements Store {
  readonly endpoints = ['memory://small']
  private rev = 1
  private readonly data = new Map<string, StoredValue>()
  private readonly history: {revision: number; event: WatchEvent}[] = []
  private compacted = 0
  private readonly leases = new Map<LeaseId, {ttlSeconds: number; grantedTtlSeconds: number}>()
  private nextLease = 100
  private readonly watches = new Set<{prefix: string; handlers: WatchHandlers; next: number}>()
  /** While true every call fails as an unreachable etcd would. */
  unavailable = false
  /** Counts calls per method (for "one TTL call per lease" style assertions). */
  readonly calls = new Map<string, number>()

  private enter(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1)
    if (this.unavailable) throw new StoreUnavailableError(`store/etcd: etcd unreachable at ${this.endpoints[0]} (${method}: injected)`)
  }

  async get(key: string): Promise<StoredValue | null> {
    this.enter('get')
    return this.data.get(key) ?? null
  }

  async list(prefix: string): Promise<Listing> {
    this.enter('list')
    const items = [...this.data.values()].filter((v) => v.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : 1))
    return {items, revision: this.rev}
  }

  private write(key: string, value: string, lease: LeaseId | null): number {
    const revision = ++this.rev
    const old = this.data.get(key)
    this.data.set(key, {key, value, createRevision: old?.createRevision ?? revision, modRevision: revision, version: (old?.version ?? 0) + 1, lease})
    this.emit({type: 'put', key, value, modRevision: revision, lease, prevValue: old?.value})
    return revision
  }

  private remove(key: string): boolean {
    const old = this.data.get(key)
    if (!old) return false
    const revision = ++this.rev
    this.data.delete(key)
    this.emit({type: 'delete', key, modRevision: revision, prevValue: old.value})
    return true
  }

  private emit(event: WatchEvent): void {
    this.history.push({revision: event.modRevision, event})
    for (const w of this.watches) {
      if (!event.key.startsWith(w.prefix) || event.modRevision < w.next) continue
      w.next = event.modRevision + 1
      void w.handlers.onEvents([event], event.modRevision)
    }
  }

  async put(key: string, value: string, options?: {lease?: LeaseId}): Promise<number> {
    this.enter('put')
    return this.write(key, value, options?.lease ?? null)
  }

  async create(key: string, value: string, options?: {lease?: LeaseId}): Promise<boolean> {
    this.enter('create')
    if (this.data.has(key)) return false
    this.write(key, value, options?.lease ?? null)
    return true
  }

  async compareAndSwap(key: string, value: string, expectedModRevision: number, options?: {lease?: LeaseId}): Promise<boolean> {
    this.enter('compareAndSwap')
    if ((this.data.get(key)?.modRevision ?? 0) !== expectedModRevision) return false
    this.write(key, value, options?.lease ?? null)
    return true
  }

  async delete(key: string, options?: {expectedModRevision?: number}): Promise<boolean> {
    this.enter('delete')
    const current = this.data.get(key)
    if (options?.expectedModRevision !== undefined && current?.modRevision !== options.expectedModRevision) return false
    return this.remove(key)
  }

  async transaction(ops: readonly WriteOp[], conditions: readonly Condition[] = []): Promise<TransactionResult> {
    this.enter('transaction')
    if (conditions.some((c) => (this.data.get(c.key)?.modRevision ?? 0) !== c.modRevision)) return {succeeded: false, revision: this.rev}
    for (const op of ops) {
      if (op.type === 'put') this.write(op.key, op.value, op.lease ?? null)
      else this.remove(op.key)
    }
    return {succeeded: true, revision: this.rev}
  }

  async deletePrefix(prefix: string): Promise<number> {
    this.enter('deletePrefix')
    let n = 0
    for (const key of [...this.data.keys()]) if (key.startsWith(prefix) && this.remove(key)) n++
    return n
  }

  async grantLease(ttlSeconds: number): Promise<LeaseId> {
    this.enter('grantLease')
    const id = String(this.nextLease++)
    this.leases.set(id, {ttlSeconds, grantedTtlSeconds: ttlSeconds})
    return id
  }

  async revokeLease(id: LeaseId): Promise<void> {
    this.enter('revokeLease')
    this.leases.delete(id)
    for (const v of [...this.data.values()]) if (v.lease === id) this.remove(v.key)
  }

  async leaseTimeToLive(id: LeaseId): Promise<{ttlSeconds: number; grantedTtlSeconds: number} | null> {
    this.enter('leaseTimeToLive')
    return this.leases.get(id) ?? null
  }

  /** Sets a lease's seconds left (a clock for tests). */
  setTimeToLive(id: LeaseId, ttlSeconds: number): void {
    const lease = this.leases.get(id)
    if (lease) lease.ttlSeconds = ttlSeconds
  }

  async keepAliveOnce(id: LeaseId): Promise<boolean> {
    this.enter('keepAliveOnce')
    const lease = this.leases.get(id)
    if (!lease) return false
    lease.ttlSeconds = lease.grantedTtlSeconds
    return true
  }

  async keepLease(ttlSeconds: number, handlers: KeptLeaseHandlers = {}): Promise<KeptLease> {
    const id = await this.grantLease(ttlSeconds)
    void handlers
    const keys = new Set<string>()
    return {
      id,
      ttlSeconds,
      put: async (key, value) => void (await this.put(key, value, {lease: id}), keys.add(key)),
      putAll: async (entries) => {
        for (const e of entries) await this.put(e.key, e.value, {lease: id})
      },
      create: async (key, value) => this.create(key, value, {lease: id}),
      compareAndSwap: async (key, value, expected) => this.compareAndSwap(key, value, expected, {lease: id}),
      forget: (key) => void keys.delete(key),
      stop: async (options) => {
        if (options?.revoke) await this.revokeLease(id)
      },
    }
  }

  async watchPrefix(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch> {
    this.enter('watchPrefix')
    const w = {prefix, handlers, next: fromRevision}
    this.watches.add(w)
    if (fromRevision <= this.compacted) {
      const listing = await this.list(prefix)
      w.next = listing.revision + 1
      void handlers.onResync(listing)
    } else {
      const past = this.history.filter((h) => h.revision >= fromRevision && h.event.key.startsWith(prefix)).map((h) => h.event)
      if (past.length) {
        w.next = past.at(-1)!.modRevision + 1
        void handlers.onEvents(past, w.next - 1)
      }
    }
    const watches = this.watches
    return {
      get nextRevision() {
        return w.next
      },
      close: async () => void watches.delete(w),
    }
  }

  /**
   * Compacts history up to the current revision, as etcd does; every watch then loses
   * its place and is resynced with a fresh listing (the store's job on ErrCompacted).
   */
  async compactAndResync(): Promise<void> {
    this.compacted = this.rev
    this.history.length = 0
    for (const w of this.watches) {
      const listing = await this.list(w.prefix)
      w.next = listing.revision + 1
      await w.handlers.onResync(listing)
    }
  }

  /** Delivers events to the watches as given, out of order or twice (what a flaky stream might do). */
  async deliver(prefix: string, events: WatchEvent[]): Promise<void> {
    for (const w of this.watches) if (w.prefix === prefix) await w.handlers.onEvents(events, events.at(-1)?.modRevision ?? this.rev)
  }

  async revision(): Promise<number> {
    this.enter('revision')
    return this.rev
  }

  get currentRevision(): number {
    return this.rev
  }

  async close(): Promise<void> {}
}
