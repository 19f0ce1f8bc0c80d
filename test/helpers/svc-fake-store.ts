import {StoreUnavailableError} from '../../src/lib/errors.js'
import type {Condition, KeptLease, LeaseId, Listing, Store, StoredValue, TransactionResult, Watch, WatchEvent, WatchHandlers, WriteOp} from '../../src/store/store.js'

/**
 * A small in-memory Store for the unit tests of svc and health until the shared
 * MemoryStore lands: revisions, leases (revoked by hand: no clock), prefix watches that
 * deliver each write's events, a forced resync (as after a compaction), and injected
 * unavailability or failures.
 */
export class FakeStore implements Store {
  readonly endpoints = ['fake://']
  private readonly data = new Map<string, StoredValue>()
  private readonly watches = new Set<{prefix: string; handlers: WatchHandlers; closed: boolean}>()
  private rev = 1
  private leaseSeq = 100
  readonly leases = new Set<LeaseId>()
  /** Every call throws StoreUnavailableError while set. */
  unavailable = false
  /** Thrown (once) by the next write, for error paths. */
  failNextWrite: Error | undefined
  /** Counts of calls, for assertions on what a component read. */
  readonly calls: Record<string, number> = {}
  /** Events delivered to watches, by prefix. */
  delivered = 0

  private count(name: string): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1
    if (this.unavailable) throw new StoreUnavailableError('store/fake: unreachable')
  }

  private writeFailure(): void {
    const failure = this.failNextWrite
    this.failNextWrite = undefined
    if (failure) throw failure
  }

  async get(key: string): Promise<StoredValue | null> {
    this.count('get')
    return this.data.get(key) ?? null
  }

  async list(prefix: string): Promise<Listing> {
    this.count('list')
    const items = [...this.data.values()].filter((v) => v.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : 1))
    return {items, revision: this.rev}
  }

  async put(key: string, value: string, options: {lease?: LeaseId} = {}): Promise<number> {
    this.count('put')
    this.writeFailure()
    return this.apply([{type: 'put', key, value, lease: options.lease}]).revision
  }

  async create(key: string, value: string, options: {lease?: LeaseId} = {}): Promise<boolean> {
    return this.compareAndSwap(key, value, 0, options)
  }

  async compareAndSwap(key: string, value: string, expectedModRevision: number, options: {lease?: LeaseId} = {}): Promise<boolean> {
    this.count('compareAndSwap')
    this.writeFailure()
    if ((this.data.get(key)?.modRevision ?? 0) !== expectedModRevision) return false
    this.apply([{type: 'put', key, value, lease: options.lease}])
    return true
  }

  async delete(key: string, options: {expectedModRevision?: number} = {}): Promise<boolean> {
    this.count('delete')
    this.writeFailure()
    const existing = this.data.get(key)
    if (!existing || (options.expectedModRevision !== undefined && existing.modRevision !== options.expectedModRevision)) return false
    this.apply([{type: 'delete', key}])
    return true
  }

  async transaction(ops: readonly WriteOp[], conditions: readonly Condition[] = []): Promise<TransactionResult> {
    this.count('transaction')
    this.writeFailure()
    if (ops.length + conditions.length > 128) throw new RangeError('too many operations')
    for (const op of ops) if (op.type === 'put' && op.lease && !this.leases.has(op.lease)) throw new Error('etcdserver: requested lease not found')
    if (!conditions.every((c) => (this.data.get(c.key)?.modRevision ?? 0) === c.modRevision)) return {succeeded: false, revision: this.rev}
    return {succeeded: true, revision: this.apply(ops).revision}
  }

  async deletePrefix(prefix: string): Promise<number> {
    this.count('deletePrefix')
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix))
    if (keys.length) this.apply(keys.map((key) => ({type: 'delete', key})))
    return keys.length
  }

  async grantLease(): Promise<LeaseId> {
    this.count('grantLease')
    const id = String(this.leaseSeq++)
    this.leases.add(id)
    return id
  }

  async revokeLease(id: LeaseId): Promise<void> {
    this.count('revokeLease')
    this.leases.delete(id)
    const keys = [...this.data.values()].filter((v) => v.lease === id).map((v) => v.key)
    if (keys.length) this.apply(keys.map((key) => ({type: 'delete', key})))
  }

  async leaseTimeToLive(id: LeaseId) {
    return this.leases.has(id) ? {ttlSeconds: 10, grantedTtlSeconds: 10} : null
  }

  async keepAliveOnce(id: LeaseId): Promise<boolean> {
    return this.leases.has(id)
  }

  async keepLease(ttlSeconds: number): Promise<KeptLease> {
    const store = this
    const id = await this.grantLease()
    const kept = new Set<string>()
    return {
      id,
      ttlSeconds,
      async put(key, value) {
        await store.put(key, value, {lease: id})
        kept.add(key)
      },
      async putAll(entries, deletes = []) {
        await store.transaction([...entries.map((e) => ({type: 'put' as const, key: e.key, value: e.value, lease: id})), ...deletes.map((key) => ({type: 'delete' as const, key}))])
        for (const e of entries) kept.add(e.key)
      },
      async create(key, value) {
        return store.create(key, value, {lease: id})
      },
      async compareAndSwap(key, value, expected) {
        return store.compareAndSwap(key, value, expected, {lease: id})
      },
      forget(key) {
        kept.delete(key)
      },
      async stop(options = {}) {
        if (options.revoke) await store.revokeLease(id)
      },
    }
  }

  async watchPrefix(prefix: string, _fromRevision: number, handlers: WatchHandlers): Promise<Watch> {
    const watch = {prefix, handlers, closed: false}
    this.watches.add(watch)
    const store = this
    return {
      get nextRevision() {
        return store.rev + 1
      },
      async close() {
        watch.closed = true
        store.watches.delete(watch)
      },
    }
  }

  /** As after a compaction: every watch under the prefix gets the whole prefix again. */
  async resync(): Promise<void> {
    for (const watch of this.watches) await watch.handlers.onResync(await this.list(watch.prefix))
  }

  async revision(): Promise<number> {
    this.count('revision')
    return this.rev
  }

  async close(): Promise<void> {}

  /** The value of a key, parsed (tests read what was written). */
  json(key: string): unknown {
    const value = this.data.get(key)?.value
    return value === undefined ? undefined : JSON.parse(value)
  }

  keys(prefix = ''): string[] {
    return [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort()
  }

  private apply(ops: readonly WriteOp[]): {revision: number} {
    const revision = ++this.rev
    const events: WatchEvent[] = []
    for (const op of ops) {
      const previous = this.data.get(op.key)
      if (op.type === 'delete') {
        if (!previous) continue
        this.data.delete(op.key)
        events.push({type: 'delete', key: op.key, modRevision: revision, prevValue: previous.value})
      } else {
        this.data.set(op.key, {key: op.key, value: op.value, createRevision: previous?.createRevision ?? revision, modRevision: revision, version: (previous?.version ?? 0) + 1, lease: op.lease ?? null})
        events.push({type: 'put', key: op.key, value: op.value, modRevision: revision, lease: op.lease ?? null, prevValue: previous?.value})
      }
    }
    for (const watch of this.watches) {
      const mine = events.filter((e) => e.key.startsWith(watch.prefix))
      if (mine.length === 0 || watch.closed) continue
      this.delivered += mine.length
      void watch.handlers.onEvents(mine, revision)
    }
    return {revision}
  }
}
