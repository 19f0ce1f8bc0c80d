import {formatCidr} from '../ip.js'
import {diffState} from './diff.js'
import {type HostView, type LeaseText, type OverlayContext, type OverlaySettings, listLeases, loadHost, planFor} from './host.js'
import {masqueradeRules, parseIptablesSave, planIptablesUp} from './iptables.js'
import type {DesiredState, Operation} from './model.js'
import type {Peer, RejectedLease} from './peers.js'

export interface UpResult {
  device: string
  subnet: string
  publicIp: string
  underlay: string
  mtu: number
  peers: number
  rejected: RejectedLease[]
  /** The kernel operations planned, in order of application. */
  operations: Operation[]
  /** The `iptables-restore --noflush` input planned for --ip-masq, or null when the rules are already right. */
  iptables: string | null
  /** Operations applied: kernel operations plus one for an iptables transaction; 0 with --dry-run. */
  applied: number
  dryRun: boolean
}

/** Plans against the kernel as it is and (unless dry-run) applies. The full reconcile. */
export async function reconcile(ctx: OverlayContext, host: HostView, leases: readonly LeaseText[], options: {ipMasq: boolean; dryRun: boolean}): Promise<{result: UpResult; desired: DesiredState; peers: Peer[]}> {
  const {desired, peerSet} = planFor(host, leases)
  const actual = await ctx.runner.readActual(host.deviceName, host.underlay.name, host.network)
  const operations = diffState(desired, actual)
  let iptables: string | null = null
  if (options.ipMasq) {
    const saved = parseIptablesSave(await ctx.runner.iptablesSave())
    iptables = planIptablesUp(masqueradeRules(formatCidr(host.network), formatCidr(host.self.subnet)), saved) ?? null
  }
  for (const r of peerSet.rejected) ctx.logger.warn('lease ignored', {lease: r.name, reason: r.reason})
  let applied = 0
  if (!options.dryRun) {
    await ctx.runner.apply(operations)
    if (iptables) await ctx.runner.iptablesRestore(iptables)
    applied = operations.length + (iptables ? 1 : 0)
  }
  const result: UpResult = {
    device: host.deviceName,
    subnet: formatCidr(host.self.subnet),
    publicIp: host.self.publicIp,
    underlay: host.underlay.name,
    mtu: desired.device.mtu,
    peers: peerSet.peers.length,
    rejected: peerSet.rejected,
    operations,
    iptables,
    applied,
    dryRun: options.dryRun,
  }
  return {result, desired, peers: peerSet.peers}
}

/** `cnet vxlan up` without --watch: read everything, then change the kernel once. */
export async function vxlanUp(ctx: OverlayContext, settings: OverlaySettings, dryRun: boolean): Promise<UpResult> {
  const host = await loadHost(ctx, settings)
  const {leases} = await listLeases(ctx)
  return (await reconcile(ctx, host, leases, {ipMasq: settings.ipMasq, dryRun})).result
}
