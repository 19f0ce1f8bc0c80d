import type {Family} from '../ip.js'
import type {WatchEvent} from '../../store/store.js'
import {diffEntries, mergeByPhase} from './diff.js'
import {type PeerEntries, noEntries, peerEntries} from './desired.js'
import type {HostView} from './host.js'
import type {Operation} from './model.js'
import {type Peer, peersOfLease} from './peers.js'

/**
 * The watch loop's decisions, as a pure function of what it knows: lease events in,
 * the few kernel operations they need and what to remember out. No I/O, no clock:
 * `vxlan up --watch` (watch.ts) only feeds it, applies and retries.
 */

/** A lease as last seen in etcd. */
export interface KnownLease {
  value: string
  /** Its mod revision. */
  revision: number
}

export interface WatchModel {
  /** Every lease as last known from etcd, by name (ours included). */
  readonly leases: ReadonlyMap<string, KnownLease>
  /** Leases deleted since the listing, with the delete's revision: a late put older than that is stale. */
  readonly deleted: ReadonlyMap<string, number>
  /** What the kernel holds, per lease name: its peers (one per family programmed). */
  readonly programmed: ReadonlyMap<string, readonly Peer[]>
  /** The revision of the listing the model was built from: events at or below it are in it already. */
  readonly listedRevision: number
}

export const emptyModel = (): WatchModel => ({leases: new Map(), deleted: new Map(), programmed: new Map(), listedRevision: 0})

/** What the loop logs: one entry per event or lease that is worth a line. */
export type Decision =
  | {kind: 'added' | 'updated' | 'removed'; lease: string}
  | {kind: 'unchanged'; lease: string}
  | {kind: 'ignored'; lease: string; family?: Family; reason: string}
  | {kind: 'stale'; lease: string; revision: number; known: number}
  | {kind: 'own-lease'; lease: string; change: 'put' | 'delete'}
  | {kind: 'not-a-lease'; key: string}
  | {kind: 'shared-mac'; lease: string; family: Family; mac: string; with: string[]}

/** A lease fact to record, whether or not the kernel change goes in. */
export interface LeaseChange {
  name: string
  /** undefined: deleted. */
  value?: string
  revision: number
}

export interface EventPlan {
  operations: Operation[]
  decisions: Decision[]
  leaseChanges: LeaseChange[]
  /** The programmed view once the operations are in: a lease's peers now (empty: none). */
  programmedChanges: {name: string; peers: Peer[]}[]
  /** Our own lease changed: the host view must be read again and everything reconciled. */
  reloadHost: boolean
  /** The lease names whose kernel entries changed (for logs and metrics). */
  changedLeases: string[]
}

/**
 * Plans a batch of watch events against the model. Per lease, only the newest event
 * counts; an event at or below the revision already known for its lease (the listing's,
 * the last put's, the delete's) is stale: a duplicate or out of order, and skipped.
 * Only the leases that changed are planned: their old entries against their new ones.
 */
export function planEvents(host: HostView, model: WatchModel, events: readonly WatchEvent[], nameOf: (key: string) => string | undefined): EventPlan {
  const plan: EventPlan = {operations: [], decisions: [], leaseChanges: [], programmedChanges: [], reloadHost: false, changedLeases: []}
  /** This batch's newest fact per lease. */
  const latest = new Map<string, LeaseChange>()
  for (const event of events) {
    const name = nameOf(event.key)
    if (name === undefined) {
      plan.decisions.push({kind: 'not-a-lease', key: event.key})
      continue
    }
    const known = latest.get(name)?.revision ?? Math.max(model.listedRevision, model.leases.get(name)?.revision ?? 0, model.deleted.get(name) ?? 0)
    if (event.modRevision <= known) {
      plan.decisions.push({kind: 'stale', lease: name, revision: event.modRevision, known})
      continue
    }
    latest.set(name, {name, value: event.type === 'put' ? event.value : undefined, revision: event.modRevision})
  }
  plan.leaseChanges = [...latest.values()]

  const before: Record<Family, PeerEntries> = {4: noEntries(), 6: noEntries()}
  const after: Record<Family, PeerEntries> = {4: noEntries(), 6: noEntries()}
  const rules = {backend: host.backend, families: host.families.map((f) => f.family), pools: host.pools}
  for (const change of latest.values()) {
    const previous = model.leases.get(change.name)?.value
    if (change.name === host.selfName) {
      if (change.value === previous) plan.decisions.push({kind: 'unchanged', lease: change.name})
      else {
        plan.decisions.push({kind: 'own-lease', lease: change.name, change: change.value === undefined ? 'delete' : 'put'})
        plan.reloadHost = true
      }
      continue
    }
    const old = model.programmed.get(change.name) ?? []
    let next: Peer[] = []
    if (change.value !== undefined) {
      const set = peersOfLease(change.name, change.value, rules)
      for (const r of set.rejected) plan.decisions.push({kind: 'ignored', lease: r.name, family: r.family, reason: r.reason})
      next = set.peers
    }
    const kept: Peer[] = []
    for (const peer of next) {
      const self = host.families.find((f) => f.family === peer.family)!
      const entries = peerEntries({config: host.config, self, underlay: host.underlay, nexthops: host.nexthops}, peer)
      if (typeof entries === 'string') {
        plan.decisions.push({kind: 'ignored', lease: peer.name, family: peer.family, reason: entries})
        continue
      }
      append(after[peer.family], entries)
      kept.push(peer)
    }
    for (const peer of old) {
      const self = host.families.find((f) => f.family === peer.family)
      const entries = self && peerEntries({config: host.config, self, underlay: host.underlay, nexthops: host.nexthops}, peer)
      if (entries && typeof entries !== 'string') append(before[peer.family], entries)
    }
    if (samePeers(old, kept)) {
      plan.decisions.push({kind: 'unchanged', lease: change.name})
      continue
    }
    plan.decisions.push({kind: old.length === 0 ? 'added' : kept.length === 0 ? 'removed' : 'updated', lease: change.name})
    plan.programmedChanges.push({name: change.name, peers: kept})
    plan.changedLeases.push(change.name)
    plan.decisions.push(...macClashes(change.name, kept, model.programmed, host))
  }
  plan.operations = mergeByPhase(host.families.map((self) => diffEntries(self.deviceName ?? '', after[self.family], before[self.family])))
  return plan
}

function append(into: PeerEntries, from: PeerEntries): void {
  into.neighs.push(...from.neighs)
  into.fdbs.push(...from.fdbs)
  into.routes.push(...from.routes)
}

const peerKey = (p: Peer) => `${p.family} ${p.subnet.ip}/${p.subnet.prefix} ${p.publicIp} ${p.vtepMac ?? ''}`

function samePeers(a: readonly Peer[], b: readonly Peer[]): boolean {
  if (a.length !== b.length) return false
  const keys = new Set(a.map(peerKey))
  return b.every((p) => keys.has(peerKey(p)))
}

/** Another lease (or this host) already holding a VTEP MAC the changed lease now gives. */
function macClashes(name: string, peers: readonly Peer[], programmed: ReadonlyMap<string, readonly Peer[]>, host: HostView): Decision[] {
  const decisions: Decision[] = []
  for (const peer of peers) {
    if (!peer.vtepMac) continue
    const holders: string[] = []
    if (host.families.some((f) => f.family === peer.family && f.vtepMac === peer.vtepMac)) holders.push(host.selfName)
    for (const [other, list] of programmed) {
      if (other === name) continue
      for (const p of list) if (p.vtepMac === peer.vtepMac && p.family === peer.family) holders.push(other)
    }
    if (holders.length) decisions.push({kind: 'shared-mac', lease: name, family: peer.family, mac: peer.vtepMac, with: holders})
  }
  return decisions
}

/**
 * Records the lease facts of a plan in the loop's model (always, whatever happens to
 * the kernel). The model is the loop's own state: it is changed in place, since a copy
 * per event would cost as much as the lease count.
 */
export function recordLeaseChanges(model: WatchModel, changes: readonly LeaseChange[]): void {
  const leases = model.leases as Map<string, KnownLease>
  const deleted = model.deleted as Map<string, number>
  for (const c of changes) {
    if (c.value === undefined) {
      leases.delete(c.name)
      deleted.set(c.name, c.revision)
    } else {
      leases.set(c.name, {value: c.value, revision: c.revision})
      deleted.delete(c.name)
    }
  }
}

/** Records in the loop's model what a plan's operations put in the kernel, once they are in. */
export function recordProgrammed(model: WatchModel, changes: EventPlan['programmedChanges']): void {
  const programmed = model.programmed as Map<string, readonly Peer[]>
  for (const c of changes) {
    if (c.peers.length === 0) programmed.delete(c.name)
    else programmed.set(c.name, c.peers)
  }
}

/** The model from a listing: every lease at the listing's revision, nothing deleted since. */
export function modelFromListing(listing: {leases: readonly {name: string; value: string; revision?: number}[]; revision: number}, programmed: ReadonlyMap<string, readonly Peer[]>): WatchModel {
  const leases = new Map<string, KnownLease>()
  for (const l of listing.leases) leases.set(l.name, {value: l.value, revision: l.revision ?? listing.revision})
  return {leases, deleted: new Map(), programmed, listedRevision: listing.revision}
}
