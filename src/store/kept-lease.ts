import {backoffDelayMs} from '../lib/retry.js'
import {type KeptLease, type KeptLeaseHandlers, type LeaseId, MAX_TRANSACTION_OPS, type Store, type StoredValue} from './store.js'

/**
 * How a key attached to a kept lease comes back after a re-grant: `put` keys
 * unconditionally; `guarded` keys (written with create or compareAndSwap) only if
 * nobody took them meanwhile.
 */
export interface AttachedKey {
  value: string
  mode: 'put' | 'guarded'
  /** A put key written with putIfPresent: put back only while this key exists. */
  requires?: string
}

/** What one keep-alive said: the lease lives, etcd no longer has it, or etcd could not be asked. */
export type KeepAliveOutcome = 'alive' | 'lost' | 'failed'

/** What the keeper does after a keep-alive. */
export type KeeperAction = 'regrant' | 'restore' | 'nothing'

/**
 * The decision after a keep-alive that reached etcd: a lost lease is granted again (and
 * every key put back); a live one still owes the keys a failed restore left behind.
 */
export function actionAfterKeepAlive(outcome: 'alive' | 'lost', keysToRestore: number): KeeperAction {
  if (outcome === 'lost') return 'regrant'
  return keysToRestore > 0 ? 'restore' : 'nothing'
}

/** Between keep-alives: a third of the TTL, so two can fail before the lease expires. */
export function keepAliveIntervalMs(ttlSeconds: number): number {
  return Math.max(300, (ttlSeconds * 1000) / 3)
}

/**
 * How long a kept lease waits after its n-th failed keep-alive in a row: from 0.5 s,
 * doubling, never above a third of the TTL (so a retry still lands before the lease
 * could expire) nor 10 s, with jitter (half to all of that): lib/retry.ts's policy.
 */
export function keptLeaseRetryMs(failures: number, ttlSeconds: number, random: () => number = Math.random): number {
  return backoffDelayMs(failures, {initialMs: 500, maxMs: Math.min((ttlSeconds * 1000) / 3, 10_000)}, random)
}

/** The wait before the next tick: the interval after a success, the backoff after a failure. */
export function nextTickMs(failures: number, ttlSeconds: number, random: () => number = Math.random): number {
  return failures === 0 ? keepAliveIntervalMs(ttlSeconds) : keptLeaseRetryMs(failures, ttlSeconds, random)
}

/** How a guarded key is put back, given what the store holds under it now. */
export type GuardedRestore = {kind: 'write'; expectedModRevision: number} | {kind: 'conflict'; theirValue: string}

/**
 * A guarded key is ours again if it is absent (it expired with the old lease) or still
 * holds our value (nobody wrote since); anything else was written by someone else.
 */
export function guardedRestore(ours: string, existing: Pick<StoredValue, 'value' | 'modRevision'> | null): GuardedRestore {
  if (existing === null) return {kind: 'write', expectedModRevision: 0}
  if (existing.value === ours) return {kind: 'write', expectedModRevision: existing.modRevision}
  return {kind: 'conflict', theirValue: existing.value}
}

/**
 * The put keys to write back, in transactions of at most MAX_TRANSACTION_OPS operations
 * and conditions (half as many keys when each brings a condition).
 */
export function restoreBatches<T>(keys: readonly T[], size = MAX_TRANSACTION_OPS): T[][] {
  const batches: T[][] = []
  for (let i = 0; i < keys.length; i += size) batches.push(keys.slice(i, i + size))
  return batches
}

export interface KeeperOptions {
  /** The jitter source for the backoff (tests pin it). */
  random?: () => number
}

/**
 * A lease kept alive by a keep-alive every TTL/3, on any Store. When the store says the
 * lease is gone (it expired during an outage, or the leader lost it), a new lease is
 * granted and every attached key put back, which is what etcd3's own Lease leaves to the
 * caller. While the store is unreachable it retries on lib/retry.ts's policy. The
 * decisions are the pure functions above; this class only feeds them and does the I/O.
 */
export class LeaseKeeper implements KeptLease {
  private currentId: LeaseId
  private readonly keys = new Map<string, AttachedKey>()
  /** Keys not yet put back under the current lease after a re-grant (an attempt can fail half-way). */
  private readonly restoring = new Set<string>()
  /** Writes in flight per key; and, while one is, when the key was last forgotten (a tick of `clock`). */
  private readonly inFlight = new Map<string, number>()
  private readonly forgottenAt = new Map<string, number>()
  private clock = 0
  private lostId: LeaseId | undefined
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private unreachable = false
  /** Failed ticks in a row, for the backoff; 0 after a success. */
  private failures = 0
  private cycle: Promise<void> = Promise.resolve()

  private constructor(
    private readonly store: Store,
    readonly ttlSeconds: number,
    private readonly handlers: KeptLeaseHandlers,
    id: LeaseId,
    private readonly options: KeeperOptions,
  ) {
    this.currentId = id
  }

  static async start(store: Store, ttlSeconds: number, handlers: KeptLeaseHandlers = {}, options: KeeperOptions = {}): Promise<LeaseKeeper> {
    const id = await store.grantLease(ttlSeconds)
    const lease = new LeaseKeeper(store, ttlSeconds, handlers, id, options)
    lease.schedule(keepAliveIntervalMs(ttlSeconds))
    return lease
  }

  get id(): LeaseId {
    return this.currentId
  }

  /** Keys the keeper puts back after a re-grant, with how (for tests and diagnostics). */
  attachedKeys(): ReadonlyMap<string, AttachedKey> {
    return this.keys
  }

  async put(key: string, value: string): Promise<void> {
    await this.writing(key, () => this.store.put(key, value, {lease: this.currentId}), () => ({value, mode: 'put'}))
  }

  async putIfPresent(key: string, value: string, required: string): Promise<boolean> {
    const write = () => this.store.transaction([{type: 'put', key, value, lease: this.currentId}], [{key: required, present: true}])
    const {succeeded} = await this.writing(key, write, (result) => (result.succeeded ? {value, mode: 'put', requires: required} : undefined))
    if (!succeeded) this.forget(key)
    return succeeded
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
    const write = () => this.store.compareAndSwap(key, value, expectedModRevision, {lease: this.currentId})
    return this.writing(key, write, (written) => (written ? {value, mode: 'guarded'} : undefined))
  }

  forget(key: string): void {
    this.keys.delete(key)
    this.restoring.delete(key)
    if (this.inFlight.has(key)) this.forgottenAt.set(key, ++this.clock)
  }

  /**
   * One write of a key, then the key kept as `attach` says: unless the key was forgotten
   * while the write was in flight (the caller let it go; keeping it would put it back
   * after a re-grant).
   */
  private async writing<T>(key: string, write: () => Promise<T>, attach: (result: T) => AttachedKey | undefined): Promise<T> {
    const started = ++this.clock
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1)
    try {
      const result = await write()
      const attached = attach(result)
      if (attached && !((this.forgottenAt.get(key) ?? 0) > started)) this.attach(key, attached)
      return result
    } finally {
      const left = this.inFlight.get(key)! - 1
      if (left > 0) this.inFlight.set(key, left)
      else {
        this.inFlight.delete(key)
        this.forgottenAt.delete(key)
      }
    }
  }

  /**
   * After a restore wrote `sent` for the key: done, unless a write of the key was in
   * flight or landed meanwhile, which the restore may have overwritten with an older
   * value; then the key is put back again on the next tick, with what it holds by then.
   */
  private settleRestored(key: string, sent: string): void {
    const attached = this.keys.get(key)
    if (attached && (this.inFlight.has(key) || attached.value !== sent)) this.restoring.add(key)
    else this.restoring.delete(key)
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

  private schedule(ms: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.cycle = this.tick()
    }, ms)
    this.timer.unref?.()
  }

  /** One keep-alive and what follows from it; never throws (nothing awaits a tick). */
  async tick(): Promise<void> {
    try {
      const alive = await this.store.keepAliveOnce(this.currentId)
      if (!this.stopped) {
        const action = actionAfterKeepAlive(alive ? 'alive' : 'lost', this.restoring.size)
        if (action === 'regrant') await this.regrant()
        else if (action === 'restore') await this.restore()
      }
      this.failures = 0
      if (this.unreachable) {
        this.unreachable = false
        this.handlers.onReachable?.()
      }
    } catch (error) {
      // Any failure (etcd unreachable, or refusing, e.g. out of space) is retried on the backoff.
      if (!this.unreachable) this.handlers.onUnreachable?.(error as Error)
      this.unreachable = true
      this.failures++
    } finally {
      this.schedule(nextTickMs(this.failures, this.ttlSeconds, this.options.random))
    }
  }

  private async regrant(): Promise<void> {
    this.lostId ??= this.currentId
    this.currentId = await this.store.grantLease(this.ttlSeconds)
    for (const key of this.keys.keys()) this.restoring.add(key)
    await this.restore()
  }

  /** Puts the attached keys back under the current lease: put keys in transactions, guarded keys one by one. */
  private async restore(): Promise<void> {
    const pending = [...this.restoring].filter((key) => {
      if (this.keys.has(key)) return true
      this.restoring.delete(key)
      return false
    })
    // Sorted before the first await; each key's value is read again when it is written,
    // as a key may be forgotten (or written anew) while a transaction is in flight.
    const kindOf = (key: string) => {
      const attached = this.keys.get(key)
      return attached?.mode === 'guarded' ? 'guarded' : attached?.requires === undefined ? 'put' : 'conditional'
    }
    const puts = pending.filter((key) => kindOf(key) === 'put')
    const conditional = pending.filter((key) => kindOf(key) === 'conditional')
    const guarded = pending.filter((key) => kindOf(key) === 'guarded')
    for (const batch of restoreBatches(puts)) {
      const lease = this.currentId
      const ops = batch.flatMap((key) => {
        const attached = this.keys.get(key)
        return attached ? [{type: 'put' as const, key, value: attached.value, lease}] : []
      })
      if (ops.length > 0) await this.store.transaction(ops)
      for (const key of batch) this.restoring.delete(key)
      for (const op of ops) this.settleRestored(op.key, op.value)
    }
    for (const batch of restoreBatches(conditional, MAX_TRANSACTION_OPS / 2)) await this.restoreConditional(batch)
    for (const key of guarded) {
      const attached = this.keys.get(key)
      if (attached) await this.restoreGuarded(key, attached)
      else this.restoring.delete(key)
    }
    const lost = this.lostId
    this.lostId = undefined
    if (lost !== undefined) this.handlers.onRegranted?.(this.currentId, lost)
  }

  /**
   * Keys written with putIfPresent, each only while its required key exists: a batch in
   * one transaction, and when one requirement fails, the batch key by key. A key whose
   * requirement is gone is no longer kept.
   */
  private async restoreConditional(batch: readonly string[]): Promise<boolean> {
    // Read again at each write: a key may be forgotten while a transaction is in flight.
    const attached = batch.flatMap((key) => {
      const entry = this.keys.get(key)
      return entry?.requires === undefined ? [] : [{key, ...entry, requires: entry.requires}]
    })
    if (attached.length === 0) return true
    const lease = this.currentId
    const {succeeded} = await this.store.transaction(
      attached.map((a) => ({type: 'put' as const, key: a.key, value: a.value, lease})),
      attached.map((a) => ({key: a.requires, present: true as const})),
    )
    if (succeeded) for (const a of attached) this.settleRestored(a.key, a.value)
    else if (attached.length === 1) this.forget(attached[0]!.key)
    else for (const a of attached) await this.restoreConditional([a.key])
    return succeeded
  }

  private async restoreGuarded(key: string, attached: AttachedKey): Promise<void> {
    let decision = guardedRestore(attached.value, await this.store.get(key))
    if (decision.kind === 'write') {
      if (await this.store.compareAndSwap(key, attached.value, decision.expectedModRevision, {lease: this.currentId})) {
        this.restoring.delete(key)
        return
      }
      // Someone wrote between our read and our write.
      decision = {kind: 'conflict', theirValue: (await this.store.get(key))?.value ?? ''}
    }
    this.keys.delete(key)
    this.restoring.delete(key)
    this.handlers.onConflict?.(key, decision.theirValue)
  }
}
