import {StoreUnavailableError} from '../../src/lib/errors.js'
import {LeaseKeeper} from '../../src/store/kept-lease.js'
import {afterEveryKeyWith} from '../../src/store/range-bounds.js'
import {
  type Condition,
  DEFAULT_PAGE_SIZE,
  type KeptLease,
  type KeptLeaseHandlers,
  type LeaseId,
  type ListOptions,
  type Listing,
  MAX_TRANSACTION_OPS,
  type Store,
  type StoredValue,
  type TransactionResult,
  type Watch,
  type WatchEvent,
  type WatchHandlers,
  type WriteOp,
  keyValuesOf,
} from '../../src/store/store.js'

/**
 * An in-memory etcd for unit tests, faithful where cnet depends on etcd's behaviour:
 *
 * - one global revision (1 when empty, as etcd starts), bumped once per write or
 *   transaction that changes something; each key has its create and mod revision and
 *   version, reset by a delete; every key keeps its history, so a list reads every page
 *   at the revision of its first page (MVCC), as etcd does;
 * - leases with a TTL on a clock (Date.now, or jest's fake one, plus `advance(ms)`);
 *   when one expires, its keys are deleted in one revision, as a revoke does;
 * - watches from a revision: the events since then, one batch per revision, delivered
 *   in order and serialised (a handler's promise is awaited before the next batch);
 * - compaction: a list or watch needing a revision older than the compacted one gets
 *   etcd's ErrCompacted path (a list starts over; a watch lists again and hands the
 *   caller onResync, then follows on from that listing);
 * - transactions with conditions, at most MAX_TRANSACTION_OPS operations and conditions;
 * - injected unavailability: while a client is `down`, each of its calls throws
 *   StoreUnavailableError (exit 4), its watches report onConnectionChange(false) and,
 *   when it is back, onConnectionChange(true) and every event missed, as etcd3 resumes
 *   a watch after a reconnect; injected latency, or calls that hang until their deadline.
 *
 * `new MemoryStore()` is one client of its own data; `store.connect()` gives another
 * client of the same data (another host), which can be down while this one is not.
 */
export interface MemoryStoreOptions {
  /** The clock leases expire on (default Date.now, which jest's fake timers also drive). */
  now?: () => number
  /** Keys per page of a list (default DEFAULT_PAGE_SIZE). */
  pageSize?: number
  /** How long a hung call waits before failing (default 5000 ms, EtcdStore's deadline). */
  deadlineMs?: number
}

interface Version {
  revision: number
  /** null: deleted at this revision. */
  value: StoredValue | null
}

interface LeaseRecord {
  ttlSeconds: number
  expiresAt: number
  keys: Set<string>
}

interface LogEntry {
  revision: number
  events: WatchEvent[]
}

export class MemoryCompactedError extends Error {
  override name = 'MemoryCompactedError'
}

/** The data every client of one memory etcd shares. */
class MemoryBackend {
  revision = 1
  compactedRevision = 0
  readonly history = new Map<string, Version[]>()
  private sortedKeys: string[] | undefined
  readonly leases = new Map<LeaseId, LeaseRecord>()
  readonly log: LogEntry[] = []
  readonly clients = new Set<MemoryStore>()
  private nextLease = 0x694d_0000
  private skewMs = 0
  private expiryTimer: NodeJS.Timeout | undefined

  constructor(private readonly clock: () => number) {}

  now(): number {
    return this.clock() + this.skewMs
  }

  advance(ms: number): void {
    this.skewMs += ms
    this.expireLeases()
  }

  /** The live value of a key at a revision (the current one by default). */
  read(key: string, revision = this.revision): StoredValue | null {
    const versions = this.history.get(key)
    if (!versions) return null
    for (let i = versions.length - 1; i >= 0; i--) if (versions[i]!.revision <= revision) return versions[i]!.value
    return null
  }

  keysInOrder(): string[] {
    this.sortedKeys ??= [...this.history.keys()].sort(compareKeys)
    return this.sortedKeys
  }

  /** etcd's range: keys in [start, end) at a revision, at most `limit`, and whether more follow. */
  range(start: string, end: Buffer | null, limit: number, revision = this.revision): {items: StoredValue[]; more: boolean; revision: number} {
    if (revision < this.compactedRevision) throw new MemoryCompactedError(`required revision ${revision} has been compacted (at ${this.compactedRevision})`)
    const keys = this.keysInOrder()
    const items: StoredValue[] = []
    for (let i = lowerBound(keys, start); i < keys.length; i++) {
      const key = keys[i]!
      if (end !== null && Buffer.compare(Buffer.from(key), end) >= 0) break
      const value = this.read(key, revision)
      if (value === null) continue
      if (items.length === limit) return {items, more: true, revision}
      items.push(value)
    }
    return {items, more: false, revision}
  }

  /**
   * Applies writes at one new revision if anything changes, returns the revision after.
   * The one place data changes: every event goes to the log and to the watches.
   */
  commit(ops: readonly WriteOp[]): number {
    const next = this.revision + 1
    const events: WatchEvent[] = []
    for (const op of ops) {
      const previous = this.read(op.key)
      if (op.type === 'delete') {
        if (previous === null) continue
        this.writeVersion(op.key, next, null, previous)
        events.push({type: 'delete', key: op.key, modRevision: next, prevValue: previous.value})
        continue
      }
      const lease = op.lease && op.lease !== '0' ? op.lease : null
      const stored: StoredValue = {
        key: op.key,
        value: op.value,
        createRevision: previous?.createRevision ?? next,
        modRevision: next,
        version: (previous?.version ?? 0) + 1,
        lease,
      }
      this.writeVersion(op.key, next, stored, previous)
      events.push({type: 'put', key: op.key, value: op.value, modRevision: next, lease, prevValue: previous?.value})
    }
    if (events.length === 0) return this.revision
    this.revision = next
    this.log.push({revision: next, events})
    for (const client of this.clients) client.deliver(next, events)
    return next
  }

  private writeVersion(key: string, revision: number, value: StoredValue | null, previous: StoredValue | null): void {
    if (previous?.lease) this.leases.get(previous.lease)?.keys.delete(key)
    if (value?.lease) this.leases.get(value.lease)!.keys.add(key)
    let versions = this.history.get(key)
    if (!versions) {
      versions = []
      this.history.set(key, versions)
      this.sortedKeys = undefined
    }
    versions.push({revision, value})
  }

  compact(revision: number): void {
    if (revision > this.revision) throw new Error(`required revision ${revision} is a future revision`)
    if (revision <= this.compactedRevision) throw new MemoryCompactedError(`required revision ${revision} has been compacted`)
    this.compactedRevision = revision
    for (const [key, versions] of this.history) {
      // Keep the version live at the compacted revision (unless it is a deletion) and every later one.
      let keepFrom = versions.length
      for (let i = versions.length - 1; i >= 0; i--) {
        if (versions[i]!.revision <= revision) {
          keepFrom = versions[i]!.value === null ? i + 1 : i
          break
        }
        keepFrom = i
      }
      const kept = versions.slice(keepFrom)
      if (kept.length === 0) {
        this.history.delete(key)
        this.sortedKeys = undefined
      } else this.history.set(key, kept)
    }
    while (this.log.length > 0 && this.log[0]!.revision < revision) this.log.shift()
  }

  grant(ttlSeconds: number): LeaseId {
    const id = String(++this.nextLease)
    this.leases.set(id, {ttlSeconds, expiresAt: this.now() + ttlSeconds * 1000, keys: new Set()})
    this.scheduleExpiry()
    return id
  }

  revoke(id: LeaseId): boolean {
    const lease = this.leases.get(id)
    if (!lease) return false
    this.leases.delete(id)
    this.commit([...lease.keys].sort(compareKeys).map((key) => ({type: 'delete' as const, key})))
    return true
  }

  keepAlive(id: LeaseId): boolean {
    const lease = this.leases.get(id)
    if (!lease) return false
    lease.expiresAt = this.now() + lease.ttlSeconds * 1000
    this.scheduleExpiry()
    return true
  }

  /** Deletes the keys of every lease past its expiry, one revision per lease, as etcd's lessor revokes them. */
  expireLeases(): void {
    const now = this.now()
    const due = [...this.leases].filter(([, lease]) => lease.expiresAt <= now).sort((a, b) => a[1].expiresAt - b[1].expiresAt)
    for (const [id] of due) this.revoke(id)
    this.scheduleExpiry()
  }

  /** A timer for the next expiry, so keys go on time even when nobody calls the store. */
  private scheduleExpiry(): void {
    clearTimeout(this.expiryTimer)
    this.expiryTimer = undefined
    let earliest = Infinity
    for (const lease of this.leases.values()) earliest = Math.min(earliest, lease.expiresAt)
    if (earliest === Infinity) return
    this.expiryTimer = setTimeout(() => this.expireLeases(), Math.max(0, earliest - this.now()) + 1)
    this.expiryTimer.unref?.()
  }

  shutdown(): void {
    clearTimeout(this.expiryTimer)
    this.expiryTimer = undefined
  }
}

/**
 * Once, before page `page` of a list of `prefix` (of any prefix when none is given): `write`
 * through another client, then compact, so the list's revision is gone and it starts over.
 * `done` tells whether it happened.
 */
export function compactBeforePage(store: MemoryStore, page: number, write: (other: MemoryStore) => Promise<unknown>, prefix?: string): {readonly done: boolean} {
  const other = store.connect()
  const state = {done: false}
  store.beforePage = async (listed, at) => {
    if (at !== page || state.done || (prefix !== undefined && listed !== prefix)) return
    state.done = true
    await write(other)
    other.compact()
  }
  return state
}

export class MemoryStore implements Store {
  readonly endpoints: readonly string[] = ['memory://store']
  readonly pageSize: number
  readonly deadlineMs: number
  /** Runs before each page of a list after the first (tests write or compact here). */
  beforePage?: (prefix: string, page: number) => Promise<void> | void
  /** Range calls made by lists, for tests of paging. */
  pagesRead = 0
  /** Extra time every call takes, in ms. */
  latencyMs = 0
  private isDown = false
  private hanging = false
  private closed = false
  private readonly watches = new Set<MemoryWatch>()
  private readonly backend: MemoryBackend

  constructor(options: MemoryStoreOptions = {}, backend?: MemoryBackend) {
    this.backend = backend ?? new MemoryBackend(options.now ?? (() => Date.now()))
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE
    this.deadlineMs = options.deadlineMs ?? 5000
    this.backend.clients.add(this)
  }

  /** Another client of the same data (another host, or another process on this one). */
  connect(options: Omit<MemoryStoreOptions, 'now'> = {}): MemoryStore {
    return new MemoryStore(options, this.backend)
  }

  // ---- test controls ----

  /** Lets `ms` pass on the store's clock: leases past their TTL expire now. */
  advance(ms: number): void {
    this.backend.advance(ms)
  }

  /** The current revision, without going through the (possibly down) client. */
  get currentRevision(): number {
    return this.backend.revision
  }

  get compactedRevision(): number {
    return this.backend.compactedRevision
  }

  /** Compacts the history up to `revision` (the current one by default), as `etcdctl compact` does. */
  compact(revision = this.backend.revision): void {
    this.backend.compact(revision)
    for (const client of this.backend.clients) client.checkCompacted()
  }

  /** Every lease that exists now, with its keys (for assertions). */
  leases(): Map<LeaseId, {ttlSeconds: number; keys: string[]}> {
    return new Map([...this.backend.leases].map(([id, l]) => [id, {ttlSeconds: l.ttlSeconds, keys: [...l.keys].sort(compareKeys)}]))
  }

  get down(): boolean {
    return this.isDown
  }

  /** Makes this client unable to reach the store (true) or able again (false). */
  setDown(down: boolean): void {
    if (this.isDown === down) return
    this.isDown = down
    for (const watch of this.watches) watch.connectionChanged(!down)
  }

  /** While set, every call of this client waits its deadline and then fails as unreachable. */
  setHanging(hanging: boolean): void {
    this.hanging = hanging
  }

  /** Resolves once every watch of this client has handed over what it has. */
  async idle(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      await Promise.all([...this.watches].map((w) => w.idle()))
      await new Promise((resolve) => setImmediate(resolve))
      if ([...this.watches].every((w) => w.isIdle())) return
    }
  }

  // ---- Store ----

  get(key: string): Promise<StoredValue | null> {
    return this.call(`get ${key}`, () => this.backend.read(key))
  }

  async list(prefix: string, options: ListOptions = {}): Promise<Listing> {
    const pageSize = Math.max(1, options.pageSize ?? this.pageSize)
    for (let restarts = 0; ; restarts++) {
      try {
        return await this.listOnce(prefix, pageSize, options)
      } catch (error) {
        if (!(error instanceof MemoryCompactedError) || restarts >= 5) throw this.unavailableIfCompacted(error, `list ${prefix}`)
      }
    }
  }

  private async listOnce(prefix: string, pageSize: number, {onPage, onKeyValues}: ListOptions): Promise<Listing> {
    let start = prefix
    let revision = 0
    const end = prefixEnd(prefix)
    const items: StoredValue[] = []
    for (let page = 0; ; page++) {
      if (page > 0) await this.beforePage?.(prefix, page)
      const at = revision || undefined
      const result = await this.call(`list ${prefix}`, () => {
        this.pagesRead++
        return this.backend.range(start, end, pageSize, at)
      })
      revision = result.revision
      // One pass only, as the etcd store's pages are made as they are iterated.
      if (onKeyValues) onKeyValues(keyValuesOf(result.items), page === 0)
      else if (onPage) onPage(result.items.values(), page === 0)
      else items.push(...result.items)
      const last = result.items.at(-1)
      if (!result.more || !last) return {items, revision}
      start = last.key + '\0'
    }
  }

  put(key: string, value: string, options: {lease?: LeaseId} = {}): Promise<number> {
    return this.call(`put ${key}`, () => {
      this.checkLease(options.lease)
      return this.backend.commit([{type: 'put', key, value, lease: options.lease}])
    })
  }

  create(key: string, value: string, options: {lease?: LeaseId} = {}): Promise<boolean> {
    return this.compareAndSwap(key, value, 0, options)
  }

  async compareAndSwap(key: string, value: string, expectedModRevision: number, options: {lease?: LeaseId} = {}): Promise<boolean> {
    const result = await this.transaction([{type: 'put', key, value, lease: options.lease}], [{key, modRevision: expectedModRevision}])
    return result.succeeded
  }

  delete(key: string, options: {expectedModRevision?: number} = {}): Promise<boolean> {
    return this.call(`delete ${key}`, () => {
      const current = this.backend.read(key)
      if (options.expectedModRevision !== undefined) {
        // etcd compares the mod revision, which is 0 for an absent key: deleting nothing succeeds.
        if ((current?.modRevision ?? 0) !== options.expectedModRevision) return false
        this.backend.commit([{type: 'delete', key}])
        return true
      }
      if (current === null) return false
      this.backend.commit([{type: 'delete', key}])
      return true
    })
  }

  transaction(ops: readonly WriteOp[], conditions: readonly Condition[] = []): Promise<TransactionResult> {
    if (ops.length + conditions.length > MAX_TRANSACTION_OPS) {
      throw new RangeError(`a transaction holds at most ${MAX_TRANSACTION_OPS} operations and conditions, not ${ops.length + conditions.length}`)
    }
    return this.call(`transaction`, () => {
      const seen = new Set<string>()
      for (const op of ops) {
        if (seen.has(op.key)) throw new Error('etcdserver: duplicate key given in txn request')
        seen.add(op.key)
      }
      const holds = conditions.every((c) => {
        const current = this.backend.read(c.key)
        // As EtcdStore asks it: present is a create revision above 0, a mod revision of 0 means absent.
        if (c.present) return current !== null
        return c.modRevision === 0 ? current === null : current?.modRevision === c.modRevision
      })
      if (!holds) return {succeeded: false, revision: this.backend.revision}
      for (const op of ops) if (op.type === 'put') this.checkLease(op.lease)
      return {succeeded: true, revision: this.backend.commit(ops)}
    })
  }

  deletePrefix(prefix: string): Promise<number> {
    return this.call(`delete ${prefix}*`, () => {
      const {items} = this.backend.range(prefix, prefixEnd(prefix), Infinity)
      this.backend.commit(items.map((item) => ({type: 'delete' as const, key: item.key})))
      return items.length
    })
  }

  grantLease(ttlSeconds: number): Promise<LeaseId> {
    return this.call('grant lease', () => this.backend.grant(Math.max(1, Math.round(ttlSeconds))))
  }

  revokeLease(id: LeaseId): Promise<void> {
    return this.call(`revoke lease ${id}`, () => void this.backend.revoke(id))
  }

  leaseTimeToLive(id: LeaseId): Promise<{ttlSeconds: number; grantedTtlSeconds: number} | null> {
    return this.call(`lease ${id} time to live`, () => {
      const lease = this.backend.leases.get(id)
      if (!lease) return null
      return {ttlSeconds: Math.max(0, Math.ceil((lease.expiresAt - this.backend.now()) / 1000)), grantedTtlSeconds: lease.ttlSeconds}
    })
  }

  keepAliveOnce(id: LeaseId): Promise<boolean> {
    return this.call(`keep lease ${id} alive`, () => this.backend.keepAlive(id))
  }

  /** The same lease keeper as EtcdStore's, on this store. */
  keepLease(ttlSeconds: number, handlers: KeptLeaseHandlers = {}): Promise<KeptLease> {
    return LeaseKeeper.start(this, ttlSeconds, handlers)
  }

  async watchPrefix(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch> {
    if (this.closed) throw this.unavailable(`watch ${prefix}`, 'the client is closed')
    const watch = new MemoryWatch(this, this.backend, prefix, fromRevision, handlers, () => this.watches.delete(watch))
    this.watches.add(watch)
    if (this.isDown) handlers.onConnectionChange?.(false, this.unavailable(`watch ${prefix}`, 'down'))
    else watch.catchUp()
    return watch
  }

  revision(): Promise<number> {
    return this.call('status', () => this.backend.revision)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all([...this.watches].map((w) => w.close()))
    this.backend.clients.delete(this)
    if (this.backend.clients.size === 0) this.backend.shutdown()
  }

  // ---- plumbing ----

  get reachable(): boolean {
    return !this.isDown && !this.closed
  }

  /** Hands a revision's events to this client's watches (called by the backend on every commit). */
  deliver(revision: number, events: WatchEvent[]): void {
    for (const watch of this.watches) watch.offer(revision, events)
  }

  checkCompacted(): void {
    for (const watch of this.watches) watch.checkCompacted()
  }

  private checkLease(lease: LeaseId | undefined): void {
    if (lease && lease !== '0' && !this.backend.leases.has(lease)) throw new Error('etcdserver: requested lease not found')
  }

  private unavailable(operation: string, reason: string): StoreUnavailableError {
    return new StoreUnavailableError(`store/memory: store unreachable at ${this.endpoints.join(',')} (${operation}: ${reason})`, 'is etcd running?', 'etcd-endpoints')
  }

  private unavailableIfCompacted(error: unknown, operation: string): unknown {
    if (error instanceof MemoryCompactedError) return new StoreUnavailableError(`store/memory: ${operation}: the revision being read was compacted, again and again`)
    return error
  }

  /** One call: latency, hangs and outages injected, lease expiry brought up to date first. */
  private async call<T>(operation: string, run: () => T): Promise<T> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs))
    if (this.hanging) {
      await new Promise((resolve) => setTimeout(resolve, this.deadlineMs))
      throw this.unavailable(operation, `no answer within ${this.deadlineMs} ms`)
    }
    if (this.closed) throw this.unavailable(operation, 'the client is closed')
    if (this.isDown) throw this.unavailable(operation, 'connect ECONNREFUSED')
    this.backend.expireLeases()
    return run()
  }
}

/**
 * A watch on one client: follows the backend's log from `next`, queues each revision's
 * batch behind the one before, holds back while its client is down, and lists again
 * (onResync) when its revision was compacted away.
 */
class MemoryWatch implements Watch {
  /** The next revision to look at in the log. */
  private next: number
  /** What nextRevision reports: as with etcd, it moves only with events under the prefix. */
  private reported: number
  private queue: Promise<void> = Promise.resolve()
  private pending = 0
  private closed = false
  private resyncing = false

  constructor(
    private readonly client: MemoryStore,
    private readonly backend: MemoryBackend,
    private readonly prefix: string,
    fromRevision: number,
    private readonly handlers: WatchHandlers,
    private readonly onClose: () => void,
  ) {
    this.next = fromRevision
    this.reported = fromRevision
  }

  get nextRevision(): number {
    return this.reported
  }

  isIdle(): boolean {
    return this.pending === 0
  }

  idle(): Promise<void> {
    return this.queue
  }

  /** No batch is handed over after this; one being handled is left to finish. */
  async close(): Promise<void> {
    this.closed = true
    this.onClose()
  }

  connectionChanged(connected: boolean): void {
    if (this.closed) return
    this.handlers.onConnectionChange?.(connected)
    if (connected) this.catchUp()
  }

  /** A live revision: delivered at once when the watch is caught up and its client reachable. */
  offer(revision: number, events: WatchEvent[]): void {
    if (this.closed || this.resyncing || !this.client.reachable || revision < this.next) return
    // Anything between `next` and this revision is still to come from the log first.
    if (revision > this.next) return this.catchUp()
    this.hand(revision, events)
  }

  checkCompacted(): void {
    if (!this.closed && this.client.reachable && this.next < this.backend.compactedRevision) this.resync()
  }

  /** Delivers every logged revision from `next` on, or resyncs when they were compacted away. */
  catchUp(): void {
    if (this.closed || this.resyncing || !this.client.reachable) return
    if (this.next < this.backend.compactedRevision) return this.resync()
    for (const entry of this.backend.log) if (entry.revision >= this.next) this.hand(entry.revision, entry.events)
    this.next = Math.max(this.next, this.backend.revision + 1)
  }

  private hand(revision: number, events: WatchEvent[]): void {
    this.next = revision + 1
    const mine = events.filter((e) => e.key.startsWith(this.prefix))
    if (mine.length === 0) return
    this.reported = revision + 1
    this.enqueue(() => this.handlers.onEvents(mine, revision))
  }

  private resync(): void {
    this.resyncing = true
    this.enqueue(async () => {
      try {
        const onPage = this.handlers.onResyncPage
        const listing = await this.client.list(this.prefix, onPage ? {onPage} : undefined)
        this.next = listing.revision + 1
        this.reported = this.next
        if (!this.closed) await this.handlers.onResync(listing)
      } catch {
        // Down again: catch up (and so resync) when the client is back.
      } finally {
        this.resyncing = false
      }
      this.catchUp()
    })
  }

  private enqueue(task: () => void | Promise<void>): void {
    this.pending++
    this.queue = this.queue
      .then(() => (this.closed ? undefined : task()))
      .catch((error) => {
        // A handler's own failure must not stop the stream of events (as EtcdWatch).
        process.emitWarning(`watch handler failed: ${(error as Error).message}`)
      })
      .finally(() => this.pending--)
  }
}

/** etcd orders keys by their UTF-8 bytes (for ASCII keys, string order). */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

function lowerBound(keys: readonly string[], start: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (compareKeys(keys[mid]!, start) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The first key after every key that starts with `prefix` (as bytes); null: no end (every key). */
function prefixEnd(prefix: string): Buffer | null {
  return afterEveryKeyWith(Buffer.from(prefix)) ?? null
}
