import {ExitCode, isCnetError} from '../../lib/errors.js'
import type {Family} from '../ip.js'
import type {Logger} from '../../lib/log.js'
import {Backoff, DEFAULT_RETRY, type RetryPolicy, retry} from '../../lib/retry.js'
import type {Listing, Watch, WatchEvent} from '../../store/store.js'
import {type HostView, type LeaseText, type OverlayContext, type OverlaySettings, listLeases, loadHost} from './host.js'
import {someLeases} from './peers.js'
import {peersByLease, reconcile} from './up.js'
import {type Decision, type WatchModel, emptyModel, modelFromListing, planEvents, recordLeaseChanges, recordProgrammed} from './watch-plan.js'

export interface WatchOptions {
  /** How often everything is compared with the kernel again (repairs a deleted device, a flapped interface). */
  resyncMs: number
  /** The backoff after a failed apply or an unreachable etcd (default: lib/retry's). */
  retry?: RetryPolicy
  /** Told about what the loop does; metrics and benchmarks listen here. */
  observer?: WatchObserver
}

export interface WatchObserver {
  /** A full reconcile applied (why: start, periodic resync, watch resynced, retry, own lease changed). */
  reconciled?(r: {why: string; operations: number; ms: number; peers: number}): void
  /** A batch of lease events applied. */
  changed?(c: {leases: string[]; operations: number; ms: number}): void
  /** A kernel change or a read failed; retryable ones are retried on the backoff. */
  failed?(error: Error, retryable: boolean): void
  /** The peers programmed now, per family: after each reconcile and each applied change. */
  programmed?(peers: Record<Family, number>): void
}

export interface WatchSummary {
  resyncs: number
  changes: number
  /** Failed attempts that were retried. */
  failures: number
}

type Input = {kind: 'events'; events: WatchEvent[]} | {kind: 'listing'; listing: Listing} | {kind: 'resync'} | {kind: 'retry'}

/**
 * `cnet vxlan up --watch`: a full reconcile, then each lease put or delete from the
 * watch applied at once as the few operations it needs (planned by watch-plan.ts), and
 * a full reconcile every resync period. One worker does all of it in order, so events
 * and resyncs never interleave. While etcd is unreachable the kernel keeps what it has,
 * the resync still repairs it from the last known leases, and the watch catches up on
 * return. A kernel change that fails (a command that exits non-zero or hangs past its
 * timeout) leaves the kernel in an unknown state: the next attempt is a full reconcile,
 * on the retry policy's backoff. An error that is not an operational one (a bug) ends
 * the daemon, after a debug line with its stack.
 */
export async function vxlanWatch(ctx: OverlayContext, settings: OverlaySettings, stop: AbortSignal, options: WatchOptions): Promise<WatchSummary> {
  const loop = new WatchLoop(ctx, settings, stop, options)
  return loop.run()
}

/** Whether an error is worth another attempt: etcd away, a system command that failed or hung. */
export function isRetryable(error: unknown): boolean {
  return isCnetError(error) && (error.exitCode === ExitCode.storeUnavailable || error.exitCode === ExitCode.systemCommand)
}

class WatchLoop {
  private readonly log: Logger
  private readonly summary: WatchSummary = {resyncs: 0, changes: 0, failures: 0}
  private readonly backoff: Backoff
  private host: HostView | undefined
  private model: WatchModel = emptyModel()
  /** The kernel may not match the model (a change failed): the next step is a full reconcile. */
  private dirty = true
  private reloadHost = false
  /** A full reconcile is queued or timed already: another would only repeat it. */
  private retryPending = false
  private queue: Input[] = []
  private wake: (() => void) | undefined
  private timers = new Set<NodeJS.Timeout>()

  constructor(
    private readonly ctx: OverlayContext,
    private readonly settings: OverlaySettings,
    private readonly stop: AbortSignal,
    private readonly options: WatchOptions,
  ) {
    this.log = ctx.logger
    this.backoff = new Backoff(options.retry ?? DEFAULT_RETRY)
  }

  async run(): Promise<WatchSummary> {
    const onAbort = () => this.wake?.()
    this.stop.addEventListener('abort', onAbort)
    let watch: Watch | undefined
    try {
      watch = await this.start()
      if (!watch) return this.summary
      this.push({kind: 'retry'}) // the first reconcile
      this.after(this.options.resyncMs, {kind: 'resync'})
      await this.work()
      return this.summary
    } finally {
      this.stop.removeEventListener('abort', onAbort)
      for (const t of this.timers) clearTimeout(t)
      await watch?.close().catch(() => {})
    }
  }

  /** Waits for etcd as long as it takes; a config or lease problem ends the command. */
  private async start(): Promise<Watch | undefined> {
    return retry(
      async () => {
        this.host = await loadHost(this.ctx, this.settings)
        for (const s of this.host.skipped) this.log.warn('family not programmed', {family: `IPv${s.family}`, reason: s.reason})
        const listing = await listLeases(this.ctx)
        this.model = modelFromListing(listing, new Map())
        return this.ctx.store.watchPrefix(this.ctx.keys.subnetsPrefix(), listing.revision + 1, {
          onEvents: (events) => this.push({kind: 'events', events}),
          onResync: (fresh) => this.push({kind: 'listing', listing: fresh}),
          onConnectionChange: (connected, error) => (connected ? this.log.info('etcd watch connected') : this.log.warn('etcd watch disconnected; keeping kernel state', {error: error?.message})),
        })
      },
      {
        policy: this.options.retry,
        signal: this.stop,
        retryable: (error) => isCnetError(error) && error.exitCode === ExitCode.storeUnavailable,
        onRetry: (error, delayMs) => this.log.warn('etcd unreachable; retrying', {error: (error as Error).message, inMs: delayMs}),
      },
    )
  }

  private push(input: Input): void {
    if (input.kind === 'retry') this.retryPending = true
    this.queue.push(input)
    this.wake?.()
  }

  private after(ms: number, input: Input): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.push(input)
    }, ms)
    this.timers.add(timer)
  }

  /** The one worker: takes what came in, in order, until stopped. */
  private async work(): Promise<void> {
    while (!this.stop.aborted) {
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve))
        this.wake = undefined
        continue
      }
      const inputs = this.queue
      this.queue = []
      await this.handle(coalesce(inputs))
    }
  }

  private async handle(inputs: Input[]): Promise<void> {
    for (const input of inputs) {
      if (this.stop.aborted) return
      try {
        await this.step(input)
      } catch (error) {
        this.fail(error)
      }
    }
  }

  private async step(input: Input): Promise<void> {
    switch (input.kind) {
      case 'events':
        return this.onEvents(input.events)
      case 'listing':
        this.model = modelFromListing({leases: listedLeases(this.ctx, input.listing), revision: input.listing.revision}, this.model.programmed)
        return this.reconcile('watch resynced')
      case 'resync':
        this.after(this.options.resyncMs, {kind: 'resync'})
        await this.refresh()
        return this.reconcile('periodic resync')
      case 'retry': {
        this.retryPending = false
        const why = this.summary.resyncs === 0 ? 'start' : this.reloadHost ? 'own lease changed' : 'retry'
        if (this.reloadHost) await this.refresh()
        return this.reconcile(why)
      }
    }
  }

  private async onEvents(events: WatchEvent[]): Promise<void> {
    const host = this.host!
    const started = performance.now()
    const plan = planEvents(host, this.model, events, (key) => this.ctx.keys.subnetNameOf(key))
    recordLeaseChanges(this.model, plan.leaseChanges)
    this.report(plan.decisions)
    if (plan.reloadHost) {
      this.reloadHost = true
      this.dirty = true
    }
    // The kernel is in an unknown state, or our own lease moved: only a full reconcile will do.
    if (this.dirty) return this.scheduleRetryNow()
    if (plan.changedLeases.length === 0) return
    await this.ctx.kernel.apply(plan.operations)
    recordProgrammed(this.model, plan.programmedChanges)
    const ms = performance.now() - started
    this.summary.changes++
    this.log.info('leases changed', {leases: plan.changedLeases, operations: plan.operations.length, ms: Math.round(ms * 10) / 10})
    this.options.observer?.changed?.({leases: plan.changedLeases, operations: plan.operations.length, ms})
    this.reportProgrammed()
  }

  private reportProgrammed(): void {
    if (!this.options.observer?.programmed) return
    const counts: Record<Family, number> = {4: 0, 6: 0}
    for (const peers of this.model.programmed.values()) for (const p of peers) counts[p.family]++
    this.options.observer.programmed(counts)
  }

  /** A full reconcile now, unless one is already queued or waiting out a backoff. */
  private scheduleRetryNow(): void {
    if (!this.retryPending) this.push({kind: 'retry'})
  }

  /** The host view and leases read again; while etcd or the underlay is away, the last known ones are kept. */
  private async refresh(): Promise<void> {
    try {
      const host = await loadHost(this.ctx, this.settings)
      const listing = await listLeases(this.ctx)
      this.host = host
      this.reloadHost = false
      this.model = modelFromListing(listing, this.model.programmed)
    } catch (error) {
      if (!isCnetError(error)) throw error
      this.log.warn('resync: using the last known leases', {error: error.message})
    }
  }

  private async reconcile(why: string): Promise<void> {
    const host = this.host!
    const started = performance.now()
    const {result, plan} = await reconcile(this.ctx, host, knownLeases(this.model), {ipMasq: this.settings.ipMasq, dryRun: false})
    this.model = {...this.model, programmed: peersByLease(plan.peerSet.peers)}
    this.dirty = false
    this.backoff.reset()
    this.summary.resyncs++
    const ms = performance.now() - started
    this.log.info('reconciled', {why, peers: result.peers, applied: result.applied, ignored: result.rejected.length})
    this.options.observer?.reconciled?.({why, operations: result.applied, ms, peers: result.peers})
    this.reportProgrammed()
  }

  /** A failed step: retried on the backoff when it is operational, else the daemon ends. */
  private fail(error: unknown): void {
    const retryable = isRetryable(error)
    const err = error instanceof Error ? error : new Error(String(error))
    this.log.debug('step failed', {error: err.message, stack: err.stack})
    this.options.observer?.failed?.(err, retryable)
    if (!retryable) {
      this.log.error('vxlan: unexpected error; stopping', {error: err.message})
      throw err
    }
    this.summary.failures++
    this.dirty = true
    const delayMs = this.backoff.nextDelayMs()
    this.log.warn('vxlan: kernel change failed; reconciling everything after a pause', {error: err.message, inMs: delayMs})
    this.retryPending = true
    this.after(delayMs, {kind: 'retry'})
  }

  private report(decisions: readonly Decision[]): void {
    for (const d of decisions) {
      switch (d.kind) {
        case 'ignored':
          this.log.warn('lease ignored', {lease: d.lease, ...(d.family ? {family: `IPv${d.family}`} : {}), reason: d.reason})
          break
        case 'shared-mac':
          this.log.warn('leases share one VTEP MAC: only one of them receives overlay traffic', {lease: d.lease, family: `IPv${d.family}`, mac: d.mac, with: someLeases(d.with)})
          break
        case 'own-lease':
          this.log.info('our own lease changed; reconciling everything', {lease: d.lease, change: d.change})
          break
        case 'stale':
          this.log.debug('stale event skipped', {lease: d.lease, revision: d.revision, known: d.known})
          break
        case 'not-a-lease':
          this.log.debug('not a lease key', {key: d.key})
          break
        default:
          break
      }
    }
  }
}

/** Consecutive event batches become one, so a burst costs one apply. */
function coalesce(inputs: Input[]): Input[] {
  const out: Input[] = []
  for (const input of inputs) {
    const last = out.at(-1)
    if (input.kind === 'events' && last?.kind === 'events') last.events = [...last.events, ...input.events]
    else out.push(input.kind === 'events' ? {kind: 'events', events: [...input.events]} : input)
  }
  return out
}

function listedLeases(ctx: OverlayContext, listing: Listing): {name: string; value: string; revision: number}[] {
  return listing.items.flatMap((i) => {
    const name = ctx.keys.subnetNameOf(i.key)
    return name === undefined ? [] : [{name, value: i.value, revision: i.modRevision}]
  })
}

const knownLeases = (model: WatchModel): LeaseText[] => [...model.leases].map(([name, l]) => ({name, value: l.value}))

