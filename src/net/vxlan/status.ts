import {type Family, formatCidr} from '../ip.js'
import type {BackendType} from '../network-config.js'
import {type OverlayContext, type OverlaySettings, listLeases, loadHost, readTargets} from './host.js'
import type {ActualDevice, ActualState, DeviceSpec, Operation} from './model.js'
import {type Peer, type RejectedLease, type SharedMac, vtepAddress} from './peers.js'
import {planReconcile} from './up.js'

export type PeerState = 'programmed' | 'direct' | 'missing' | 'partial'

export interface PeerStatus {
  lease: string
  family: Family
  subnet: string
  publicIp: string
  /** null under host-gw. */
  vtepMac: string | null
  hostName: string | null
  state: PeerState
}

export interface DeviceStatus {
  name: string
  exists: boolean
  up: boolean
  desired: DeviceSpec
  actual: ActualDevice | null
}

export interface FamilyStatus {
  family: Family
  subnet: string
  /** The device's address; null under host-gw. */
  address: string | null
  device: DeviceStatus | null
}

export interface StatusResult {
  backend: BackendType
  /** The first family's device (IPv4's unless the network is IPv6-only); null under host-gw. */
  device: DeviceStatus | null
  subnet: string
  address: string | null
  families: FamilyStatus[]
  peers: PeerStatus[]
  rejected: RejectedLease[]
  sharedMacs: SharedMac[]
  /** The operations `vxlan up` would apply now; empty when the kernel matches the leases. */
  drift: Operation[]
  inSync: boolean
}

/** Desired (from etcd) against actual (from the kernel). Reads only. */
export async function vxlanStatus(ctx: OverlayContext, settings: OverlaySettings): Promise<StatusResult> {
  const host = await loadHost(ctx, settings)
  const {leases} = await listLeases(ctx)
  const actual = await Promise.all(readTargets(host).map((target) => ctx.kernel.readActual(target)))
  const {plan, operations} = planReconcile(host, leases, actual)
  const families: FamilyStatus[] = host.families.map((self, i) => {
    const desired = plan.states[i]
    const device = desired.device ? {name: desired.device.name, exists: actual[i].device !== undefined, up: actual[i].device?.up ?? false, desired: desired.device, actual: actual[i].device ?? null} : null
    return {family: self.family, subnet: formatCidr(self.subnet), address: desired.address ?? null, device}
  })
  const actualOf = (family: Family) => actual[host.families.findIndex((f) => f.family === family)]
  return {
    backend: host.backend,
    device: families[0].device,
    subnet: families[0].subnet,
    address: families[0].address,
    families,
    peers: plan.peerSet.peers.map((p) => peerStatus(p, actualOf(p.family), host.families.find((f) => f.family === p.family)?.deviceName)),
    rejected: plan.peerSet.rejected,
    sharedMacs: plan.shared,
    drift: operations,
    inSync: operations.length === 0,
  }
}

function peerStatus(peer: Peer, actual: ActualState, device: string | undefined): PeerStatus {
  const gateway = vtepAddress(peer.subnet)
  const dst = formatCidr(peer.subnet)
  const route = actual.routes.find((r) => r.dst === dst)
  const neigh = actual.neighs.some((n) => n.ip === gateway && n.mac === peer.vtepMac)
  const fdb = actual.fdbs.some((f) => f.mac === peer.vtepMac && f.dst === peer.publicIp)
  let state: PeerState
  if (!device) state = route?.via === peer.publicIp ? 'programmed' : route ? 'partial' : 'missing'
  else if (route && route.dev !== device && route.via === peer.publicIp) state = 'direct'
  else if (route?.dev === device && route.via === gateway && neigh && fdb) state = 'programmed'
  else state = route || neigh || fdb ? 'partial' : 'missing'
  return {lease: peer.name, family: peer.family, subnet: dst, publicIp: peer.publicIp, vtepMac: peer.vtepMac ?? null, hostName: peer.hostName ?? null, state}
}
