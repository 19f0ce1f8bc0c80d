import type {Family} from '../ip.js'
import {formatCidr} from '../ip.js'
import type {BackendType} from '../network-config.js'
import {diffState, mergeByPhase} from './diff.js'
import {type HostView, type LeaseText, type OverlayContext, type OverlayPlan, type OverlaySettings, listLeases, loadHost, planFor, readTargets} from './host.js'
import {masqueradeRules, parseIptablesSave, planIptablesUp} from './iptables.js'
import type {ActualState, Operation} from './model.js'
import {type Peer, type RejectedLease, type SharedMac, someLeases} from './peers.js'

export interface FamilyResult {
  family: Family
  /** The VXLAN device; null under host-gw. */
  device: string | null
  subnet: string
  publicIp: string
  mtu: number
  peers: number
}

export interface UpResult {
  backend: BackendType
  /** The first family's device (IPv4's, unless the network is IPv6-only); null under host-gw. */
  device: string | null
  subnet: string
  publicIp: string
  underlay: string
  mtu: number
  /** Leases programmed as peers (a dual-stack lease counts once). */
  peers: number
  families: FamilyResult[]
  rejected: RejectedLease[]
  /** VTEP MACs that more than one lease gives: only one of those hosts receives. */
  sharedMacs: SharedMac[]
  /** The kernel operations planned, in order of application. */
  operations: Operation[]
  /** The `iptables-restore --noflush` input planned for --ip-masq, or null when the rules are already right (or IPv4 is not run). */
  iptables: string | null
  /** The same for ip6tables-restore. */
  ip6tables: string | null
  /** Operations applied: kernel operations plus one per iptables transaction; 0 with --dry-run. */
  applied: number
  dryRun: boolean
}

/** The operations that make the kernel match the leases, all families at once. Pure. */
export function planReconcile(host: HostView, leases: readonly LeaseText[], actual: readonly ActualState[]): {plan: OverlayPlan; operations: Operation[]} {
  const plan = planFor(host, leases)
  const operations = mergeByPhase(plan.states.map((desired, i) => diffState(desired, actual[i])))
  return {plan, operations}
}

/** The --ip-masq transaction of one family against what `iptables-save` shows, or null when nothing is missing. */
export function planMasquerade(host: HostView, family: Family, saved: string): string | null {
  const self = host.families.find((f) => f.family === family)
  if (!self) return null
  return planIptablesUp(masqueradeRules(formatCidr(self.network), formatCidr(self.subnet), family), parseIptablesSave(saved)) ?? null
}

/** The peers of a plan by lease name: what the watch loop remembers as programmed. */
export function peersByLease(peers: readonly Peer[]): Map<string, Peer[]> {
  const byName = new Map<string, Peer[]>()
  for (const peer of peers) byName.set(peer.name, [...(byName.get(peer.name) ?? []), peer])
  return byName
}

/** Plans against the kernel as it is and (unless dry-run) applies. The full reconcile. */
export async function reconcile(ctx: OverlayContext, host: HostView, leases: readonly LeaseText[], options: {ipMasq: boolean; dryRun: boolean}): Promise<{result: UpResult; plan: OverlayPlan}> {
  const actual = await Promise.all(readTargets(host).map((target) => ctx.kernel.readActual(target)))
  const {plan, operations} = planReconcile(host, leases, actual)
  const masq: Record<Family, string | null> = {4: null, 6: null}
  if (options.ipMasq) {
    for (const self of host.families) masq[self.family] = planMasquerade(host, self.family, await ctx.kernel.iptablesSave(self.family))
  }
  for (const r of plan.peerSet.rejected) ctx.logger.warn('lease ignored', {lease: r.name, ...(r.family ? {family: `IPv${r.family}`} : {}), reason: r.reason})
  for (const s of plan.shared) ctx.logger.warn('leases share one VTEP MAC: only one of them receives overlay traffic', {mac: s.mac, family: `IPv${s.family}`, leases: someLeases(s.leases)})
  let applied = 0
  if (!options.dryRun) {
    await ctx.kernel.apply(operations)
    for (const family of [4, 6] as const) if (masq[family]) await ctx.kernel.iptablesRestore(family, masq[family])
    applied = operations.length + (masq[4] ? 1 : 0) + (masq[6] ? 1 : 0)
  }
  return {result: upResult(host, plan, {operations, masq, applied, dryRun: options.dryRun}), plan}
}

function upResult(host: HostView, plan: OverlayPlan, done: {operations: Operation[]; masq: Record<Family, string | null>; applied: number; dryRun: boolean}): UpResult {
  const families: FamilyResult[] = host.families.map((self, i) => ({
    family: self.family,
    device: self.deviceName ?? null,
    subnet: formatCidr(self.subnet),
    publicIp: self.publicIp,
    mtu: plan.states[i].device?.mtu ?? host.underlay.mtu,
    peers: plan.peerSet.peers.filter((p) => p.family === self.family).length,
  }))
  const first = families[0]
  return {
    backend: host.backend,
    device: first.device,
    subnet: first.subnet,
    publicIp: first.publicIp,
    underlay: host.underlay.name,
    mtu: first.mtu,
    peers: new Set(plan.peerSet.peers.map((p) => p.name)).size,
    families,
    rejected: plan.peerSet.rejected,
    sharedMacs: plan.shared,
    operations: done.operations,
    iptables: done.masq[4],
    ip6tables: done.masq[6],
    applied: done.applied,
    dryRun: done.dryRun,
  }
}

/** `cnet vxlan up` without --watch: read everything, then change the kernel once. */
export async function vxlanUp(ctx: OverlayContext, settings: OverlaySettings, dryRun: boolean): Promise<UpResult> {
  const host = await loadHost(ctx, settings)
  for (const s of host.skipped) ctx.logger.warn('family not programmed', {family: `IPv${s.family}`, reason: s.reason})
  const {leases} = await listLeases(ctx)
  return (await reconcile(ctx, host, leases, {ipMasq: settings.ipMasq, dryRun})).result
}
