import {type Cidr, addressAt, cidrContainsIp, formatCidr, ipString, parseIp} from '../ip.js'
import {type LeaseAttrs, leaseFitsPools, parseLeaseAttrs, parseLeaseName} from '../lease.js'
import type {SubnetPool} from '../network-config.js'

/**
 * Leases as the overlay needs them. A key that does not parse is reported and
 * skipped: it never removes other peers (flannel's watcher did exactly that).
 */
export interface Peer {
  /** flannel's lease name, e.g. `10.5.52.0-24`. */
  name: string
  subnet: Cidr
  publicIp: string
  vtepMac: string
  hostName?: string
}

export interface RejectedLease {
  name: string
  reason: string
}

export interface PeerSet {
  peers: Peer[]
  rejected: RejectedLease[]
}

/** One lease (its name and value) to a peer, or the reason it cannot be one. */
export function peerFromLease(name: string, value: string, pools: readonly SubnetPool[]): Peer | RejectedLease {
  const subnets = parseLeaseName(name)
  if (!subnets?.v4) return {name, reason: 'the key is not an IPv4 lease name such as 10.5.52.0-24'}
  if (!leaseFitsPools({v4: subnets.v4}, pools.filter((p) => p.family === 4))) return {name, reason: `${formatCidr(subnets.v4)} is outside the network config`}
  const attrs: LeaseAttrs | undefined = parseLeaseAttrs(value)
  if (!attrs) return {name, reason: 'the value is not a lease (no valid PublicIP)'}
  if (attrs.BackendType !== 'vxlan') return {name, reason: `backend "${attrs.BackendType}" is not vxlan`}
  if (!attrs.BackendData) return {name, reason: 'no BackendData.VtepMAC'}
  return {name, subnet: subnets.v4, publicIp: attrs.PublicIP, vtepMac: attrs.BackendData.VtepMAC, hostName: attrs.HostName}
}

export const isPeer = (p: Peer | RejectedLease): p is Peer => 'subnet' in p

/** Every lease except our own, split into usable peers and rejected keys. */
export function peersFromLeases(leases: readonly {name: string; value: string}[], selfName: string, pools: readonly SubnetPool[]): PeerSet {
  const set: PeerSet = {peers: [], rejected: []}
  for (const lease of leases) {
    if (lease.name === selfName) continue
    const parsed = peerFromLease(lease.name, lease.value, pools)
    if (isPeer(parsed)) set.peers.push(parsed)
    else set.rejected.push(parsed)
  }
  set.peers.sort((a, b) => (a.subnet.ip < b.subnet.ip ? -1 : a.subnet.ip > b.subnet.ip ? 1 : 0))
  return set
}

/** The `<subnet>.0` address: the VTEP address flannel gives every host's device. */
export const vtepAddress = (subnet: Cidr): string => ipString(subnet.family, addressAt(subnet, 0n).value)

/** Whether an address is on one of the underlay's connected prefixes (no gateway needed). */
export function onSameSegment(address: string, connected: readonly Cidr[]): boolean {
  const ip = parseIp(address)
  return ip !== undefined && connected.some((c) => cidrContainsIp(c, ip))
}
