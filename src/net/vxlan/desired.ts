import type {Cidr} from '../ip.js'
import {type NetworkConfig, overlayMtu} from '../network-config.js'
import type {DesiredState, DeviceSpec, FdbEntry, NeighEntry, RouteEntry} from './model.js'
import {type Peer, onSameSegment, vtepAddress} from './peers.js'

/** The underlay interface as the planner needs it. */
export interface Underlay {
  name: string
  mtu: number
  /** The interface's connected IPv4 prefixes: peers inside them are one hop away. */
  connected: Cidr[]
}

export interface DesiredInput {
  config: NetworkConfig
  deviceName: string
  self: {subnet: Cidr; publicIp: string; vtepMac: string}
  peers: readonly Peer[]
  underlay: Underlay
}

export const defaultDeviceName = (vni: number): string => `cnet.${vni}`

export function deviceSpec(input: DesiredInput): DeviceSpec {
  const backend = input.config.Backend
  return {
    name: input.deviceName,
    vni: backend.VNI,
    port: backend.Port,
    local: input.self.publicIp,
    underlay: input.underlay.name,
    mac: input.self.vtepMac.toLowerCase(),
    mtu: overlayMtu(backend, input.underlay.mtu),
  }
}

/**
 * What the kernel should hold, exactly as flannel programs it: per peer a permanent
 * neighbour, a `self permanent` fdb entry and an onlink route; with DirectRouting and
 * a peer on the same segment, one route via its public IP and nothing else.
 */
export function desiredState(input: DesiredInput): DesiredState {
  const device = deviceSpec(input)
  const entries: PeerEntries = {neighs: [], fdbs: [], routes: []}
  for (const peer of input.peers) {
    const one = peerEntries(input, peer)
    entries.neighs.push(...one.neighs)
    entries.fdbs.push(...one.fdbs)
    entries.routes.push(...one.routes)
  }
  return {device, address: `${vtepAddress(input.self.subnet)}/32`, ...entries}
}

export interface PeerEntries {
  neighs: NeighEntry[]
  fdbs: FdbEntry[]
  routes: RouteEntry[]
}

/** One peer's entries; the watch loop diffs these for the leases that changed only. */
export function peerEntries(input: Pick<DesiredInput, 'config' | 'deviceName' | 'underlay'>, peer: Peer | undefined): PeerEntries {
  if (!peer) return {neighs: [], fdbs: [], routes: []}
  const dst = `${vtepAddress(peer.subnet)}/${peer.subnet.prefix}`
  if (input.config.Backend.DirectRouting && onSameSegment(peer.publicIp, input.underlay.connected)) {
    return {neighs: [], fdbs: [], routes: [{dst, via: peer.publicIp, dev: input.underlay.name, onlink: false}]}
  }
  const gateway = vtepAddress(peer.subnet)
  const mac = peer.vtepMac.toLowerCase()
  return {neighs: [{ip: gateway, mac}], fdbs: [{mac, dst: peer.publicIp}], routes: [{dst, via: gateway, dev: input.deviceName, onlink: true}]}
}
