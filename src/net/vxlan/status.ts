import {formatCidr} from '../ip.js'
import {diffState} from './diff.js'
import {type OverlayContext, type OverlaySettings, listLeases, loadHost, planFor} from './host.js'
import type {ActualDevice, ActualState, DeviceSpec, Operation} from './model.js'
import type {Peer, RejectedLease} from './peers.js'
import {vtepAddress} from './peers.js'

export type PeerState = 'programmed' | 'direct' | 'missing' | 'partial'

export interface PeerStatus {
  lease: string
  subnet: string
  publicIp: string
  vtepMac: string
  hostName: string | null
  state: PeerState
}

export interface StatusResult {
  device: {name: string; exists: boolean; up: boolean; desired: DeviceSpec; actual: ActualDevice | null}
  subnet: string
  address: string
  peers: PeerStatus[]
  rejected: RejectedLease[]
  /** The operations `vxlan up` would apply now; empty when the kernel matches the leases. */
  drift: Operation[]
  inSync: boolean
}

/** Desired (from etcd) against actual (from the kernel). Reads only. */
export async function vxlanStatus(ctx: OverlayContext, settings: OverlaySettings): Promise<StatusResult> {
  const host = await loadHost(ctx, settings)
  const {leases} = await listLeases(ctx)
  const {desired, peerSet} = planFor(host, leases)
  const actual = await ctx.runner.readActual(host.deviceName, host.underlay.name, host.network)
  const drift = diffState(desired, actual)
  return {
    device: {name: host.deviceName, exists: actual.device !== undefined, up: actual.device?.up ?? false, desired: desired.device, actual: actual.device ?? null},
    subnet: formatCidr(host.self.subnet),
    address: desired.address,
    peers: peerSet.peers.map((p) => peerStatus(p, actual, host.deviceName)),
    rejected: peerSet.rejected,
    drift,
    inSync: drift.length === 0,
  }
}

function peerStatus(peer: Peer, actual: ActualState, device: string): PeerStatus {
  const gateway = vtepAddress(peer.subnet)
  const dst = `${gateway}/${peer.subnet.prefix}`
  const route = actual.routes.find((r) => r.dst === dst)
  const neigh = actual.neighs.some((n) => n.ip === gateway && n.mac === peer.vtepMac)
  const fdb = actual.fdbs.some((f) => f.mac === peer.vtepMac && f.dst === peer.publicIp)
  let state: PeerState
  if (route && route.dev !== device && route.via === peer.publicIp) state = 'direct'
  else if (route?.dev === device && route.via === gateway && neigh && fdb) state = 'programmed'
  else state = route || neigh || fdb ? 'partial' : 'missing'
  return {lease: peer.name, subnet: formatCidr(peer.subnet), publicIp: peer.publicIp, vtepMac: peer.vtepMac, hostName: peer.hostName ?? null, state}
}
