import {sleepUnlessAborted, untilAborted} from '../../lib/abort.js'
import {isCnetError} from '../../lib/errors.js'
import {isStoreUnavailable} from '../../store/index.js'
import type {Listing, Watch, WatchEvent} from '../../store/store.js'
import {diffEntries} from './diff.js'
import {type PeerEntries, peerEntries} from './desired.js'
import {type Peer, isPeer, peerFromLease} from './peers.js'
import {type HostView, type LeaseText, type OverlayContext, type OverlaySettings, listLeases, loadHost} from './host.js'
import {reconcile} from './up.js'

export interface WatchOptions {
  /** How often everything is compared with the kernel again (repairs a deleted device, a flapped interface). */
  resyncMs: number
  /** Called after each applied change; for tests and benchmarks. */
  onChange?(change: {leases: string[]; operations: number; ms: number}): void
}

export interface WatchSummary {
  resyncs: number
  changes: number
}

/**
 * `cnet vxlan up --watch`: a full reconcile, then each lease put or delete from the
 * watch applied at once as the few operations it needs, and a full reconcile every
 * resync period. While etcd is unreachable the kernel keeps what it has, the resync
 * still repairs it from the last known leases, and the watch catches up on return.
 */
export async function vxlanWatch(ctx: OverlayContext, settings: OverlaySettings, stop: AbortSignal, options: WatchOptions): Promise<WatchSummary> {
  const log = ctx.logger
  const summary: WatchSummary = {resyncs: 0, changes: 0}
  const leases = new Map<string, string>()
  let host: HostView | undefined
  let reconciledOnce = false
  /** The peers whose entries are in the kernel, by lease name. */
  const programmed = new Map<string, Peer>()
  let listedRevision = 0
  // Every kernel change goes through this chain, so events and resyncs never interleave.
  let chain: Promise<void> = Promise.resolve()
  const serial = (task: () => Promise<void>) => {
    chain = chain.then(task).catch((error) => log.error('vxlan: apply failed; the next resync retries', {error: (error as Error).message}))
    return chain
  }

  const fullReconcile = async (why: string) => {
    if (!host) return
    const {result, peers} = await reconcile(ctx, host, leaseList(leases), {ipMasq: settings.ipMasq, dryRun: false})
    reconciledOnce = true
    programmed.clear()
    for (const peer of peers) programmed.set(peer.name, peer)
    summary.resyncs++
    log.info('reconciled', {why, peers: result.peers, applied: result.applied, ignored: result.rejected.length})
  }

  const replaceLeases = (listing: {leases: LeaseText[]; revision: number}) => {
    leases.clear()
    for (const l of listing.leases) leases.set(l.name, l.value)
    listedRevision = listing.revision
  }

  const onEvents = (events: WatchEvent[]) =>
    serial(async () => {
      if (!host || !reconciledOnce) return
      const started = performance.now()
      const names: string[] = []
      for (const event of events) {
        if (event.modRevision <= listedRevision) continue
        const name = ctx.keys.subnetNameOf(event.key)
        if (name === undefined) continue
        names.push(name)
        if (event.type === 'put') leases.set(name, event.value)
        else leases.delete(name)
      }
      if (names.length === 0) return
      // Only the changed leases are planned again: their old entries against their new ones.
      // (Two leases sharing a VTEP MAC would need the full diff; the periodic resync covers that.)
      const before: PeerEntries = {neighs: [], fdbs: [], routes: []}
      const after: PeerEntries = {neighs: [], fdbs: [], routes: []}
      const current = host
      for (const name of new Set(names)) {
        const value = leases.get(name)
        const parsed = value === undefined || name === current.selfName ? undefined : peerFromLease(name, value, current.pools)
        if (parsed && !isPeer(parsed)) log.warn('lease ignored', {lease: name, reason: parsed.reason})
        const next = parsed && isPeer(parsed) ? parsed : undefined
        append(before, peerEntries(current, programmed.get(name)))
        append(after, peerEntries(current, next))
        if (next) programmed.set(name, next)
        else programmed.delete(name)
      }
      const ops = diffEntries(current.deviceName, after, before)
      try {
        await ctx.runner.apply(ops)
      } catch (error) {
        log.warn('vxlan: incremental change failed; reconciling everything', {error: (error as Error).message})
        await fullReconcile('apply failed')
      }
      const ms = performance.now() - started
      summary.changes++
      log.info('leases changed', {leases: names, operations: ops.length, ms: Math.round(ms * 10) / 10})
      options.onChange?.({leases: names, operations: ops.length, ms})
    })

  const onResync = (listing: Listing) =>
    serial(async () => {
      replaceLeases({leases: listing.items.flatMap((i) => {
        const name = ctx.keys.subnetNameOf(i.key)
        return name === undefined ? [] : [{name, value: i.value}]
      }), revision: listing.revision})
      await fullReconcile('watch resynced')
    })

  // Start: wait for etcd as long as it takes; a config or lease problem ends the command.
  let watch: Watch | undefined
  while (!stop.aborted && !watch) {
    try {
      host = await loadHost(ctx, settings)
      const listing = await listLeases(ctx)
      replaceLeases(listing)
      await serial(() => fullReconcile('start'))
      watch = await ctx.store.watchPrefix(ctx.keys.subnetsPrefix(), listing.revision + 1, {
        onEvents,
        onResync,
        onConnectionChange: (connected, error) => (connected ? log.info('etcd watch connected') : log.warn('etcd watch disconnected; keeping kernel state', {error: error?.message})),
      })
    } catch (error) {
      if (!isRetryable(error)) throw error
      log.warn('etcd unreachable; retrying', {error: (error as Error).message})
      await sleepUnlessAborted(1000, stop)
    }
  }

  const resyncLoop = async () => {
    while (!stop.aborted) {
      await sleepUnlessAborted(options.resyncMs, stop)
      if (stop.aborted) break
      await serial(async () => {
        try {
          const fresh = await loadHost(ctx, settings)
          const listing = await listLeases(ctx)
          host = fresh
          replaceLeases(listing)
        } catch (error) {
          if (!isRetryable(error) && !isCnetError(error)) throw error
          // etcd away or the underlay gone for now: repair from what we know.
          log.warn('resync: using the last known leases', {error: (error as Error).message})
        }
        await fullReconcile('periodic resync')
      })
    }
  }
  const loop = resyncLoop()
  await untilAborted(stop)
  await loop
  await chain
  await watch?.close()
  return summary
}

function append(into: PeerEntries, from: PeerEntries): void {
  into.neighs.push(...from.neighs)
  into.fdbs.push(...from.fdbs)
  into.routes.push(...from.routes)
}

const leaseList = (leases: Map<string, string>): LeaseText[] => [...leases].map(([name, value]) => ({name, value}))

function isRetryable(error: unknown): boolean {
  return isStoreUnavailable(error) || (isCnetError(error) && error.exitCode === 4)
}
