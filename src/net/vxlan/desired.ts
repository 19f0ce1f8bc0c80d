import {type Cidr, type Family, formatCidr} from '../ip.js'
import {type NetworkConfig, overlayMtu, vxlanOf} from '../network-config.js'
import {nexthopIdOf} from './batch.js'
import type {DesiredState, DeviceSpec, FdbEntry, NeighEntry, RouteEntry} from './model.js'
import {type Peer, type RejectedLease, onSameSegment, vtepAddress} from './peers.js'

/** The underlay interface as the planner needs it. */
export interface Underlay {
  name: string
  mtu: number
  /** The interface's connected prefixes (both families): peers inside them are one hop away. */
  connected: Cidr[]
}

/** This host in one address family: its subnet, public address, VTEP MAC (vxlan) and device. */
export interface SelfFamily {
  family: Family
  subnet: Cidr
  /** The cluster network of the family. */
  network: Cidr
  /** PublicIP, or PublicIPv6 for IPv6. */
  publicIp: string
  /** vxlan only: the MAC of this family's device, as the lease gives it. */
  vtepMac?: string
  /** vxlan only: `cnet.<VNI>` or `cnet-v6.<VNI>` unless named otherwise. */
  deviceName?: string
}

export interface DesiredInput {
  config: NetworkConfig
  self: SelfFamily
  /** The peers of this family. */
  peers: readonly Peer[]
  underlay: Underlay
  /** The kernel has nexthop objects: IPv4 overlay routes go through one (batch.ts, nexthopIdOf). */
  nexthops?: boolean
}

/** cnet's device names, beside flannel's `flannel.<VNI>` and `flannel-v6.<VNI>`. */
export const defaultDeviceName = (vni: number, family: Family = 4): string => (family === 4 ? `cnet.${vni}` : `cnet-v6.${vni}`)

/** Linux's limit on interface names (IFNAMSIZ less the terminating NUL). */
export const MAX_DEVICE_NAME = 15

export function deviceSpec(input: Pick<DesiredInput, 'config' | 'self' | 'underlay'>): DeviceSpec | undefined {
  const backend = vxlanOf(input.config)
  if (!backend || !input.self.deviceName || !input.self.vtepMac) return undefined
  return {
    name: input.self.deviceName,
    vni: backend.VNI,
    port: backend.Port,
    local: input.self.publicIp,
    underlay: input.underlay.name,
    mac: input.self.vtepMac.toLowerCase(),
    mtu: overlayMtu(backend, input.underlay.mtu, input.self.family),
  }
}

/**
 * What the kernel should hold for one family, exactly as flannel programs it. vxlan:
 * per peer a permanent neighbour, a `self permanent` fdb entry and an onlink route on
 * the device (an IPv4 one through a nexthop object where the kernel has them); with
 * DirectRouting and a peer on the same segment, one route via its public IP instead.
 * host-gw: no device, one route per peer via its public IP; a peer off the segment is
 * refused (such a route cannot work).
 */
export function desiredState(input: DesiredInput): {desired: DesiredState; refused: RejectedLease[]} {
  const device = deviceSpec(input)
  const desired: DesiredState = {family: input.self.family, neighs: [], fdbs: [], routes: []}
  if (device) {
    desired.device = device
    desired.address = `${vtepAddress(input.self.subnet)}/${input.self.family === 4 ? 32 : 128}`
  }
  const refused: RejectedLease[] = []
  for (const peer of input.peers) {
    const one = peerEntries(input, peer)
    if (typeof one === 'string') {
      refused.push({name: peer.name, family: peer.family, reason: one})
      continue
    }
    desired.neighs.push(...one.neighs)
    desired.fdbs.push(...one.fdbs)
    desired.routes.push(...one.routes)
  }
  return {desired, refused}
}

export interface PeerEntries {
  neighs: NeighEntry[]
  fdbs: FdbEntry[]
  routes: RouteEntry[]
}

export const noEntries = (): PeerEntries => ({neighs: [], fdbs: [], routes: []})

/**
 * One peer's entries, or why it cannot have any; the watch loop diffs these for the
 * leases that changed only.
 */
export function peerEntries(input: Pick<DesiredInput, 'config' | 'self' | 'underlay' | 'nexthops'>, peer: Peer | undefined): PeerEntries | string {
  if (!peer) return noEntries()
  const dst = formatCidr(peer.subnet)
  const direct: RouteEntry = {dst, via: peer.publicIp, dev: input.underlay.name, onlink: false}
  const oneHop = onSameSegment(peer.publicIp, input.underlay.connected)
  const backend = vxlanOf(input.config)
  if (!backend) {
    if (!oneHop) return `host-gw: ${peer.publicIp} is not on ${input.underlay.name}'s segment (${segmentsOf(input.underlay, peer.family)}), and host-gw reaches only peers one hop away`
    return {neighs: [], fdbs: [], routes: [direct]}
  }
  if (backend.DirectRouting && oneHop) return {neighs: [], fdbs: [], routes: [direct]}
  const deviceName = input.self.deviceName
  if (!peer.vtepMac || !deviceName) return 'no VTEP MAC'
  const gateway = vtepAddress(peer.subnet)
  const mac = peer.vtepMac.toLowerCase()
  const route: RouteEntry = {dst, via: gateway, dev: deviceName, onlink: true}
  const nhid = input.nexthops ? nexthopIdOf(route) : undefined
  if (nhid !== undefined) route.nhid = nhid
  return {neighs: [{ip: gateway, mac}], fdbs: [{mac, dst: peer.publicIp}], routes: [route]}
}

function segmentsOf(underlay: Underlay, family: Family): string {
  const mine = underlay.connected.filter((c) => c.family === family).map(formatCidr)
  return mine.length ? mine.join(', ') : `no IPv${family} prefix`
}
