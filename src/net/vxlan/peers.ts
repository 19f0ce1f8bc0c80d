import {type Cidr, type Family, addressAt, cidrContainsIp, compareCidrs, formatCidr, ipString, parseIp} from '../ip.js'
import {type LeaseAttrs, leaseFitsPools, parseLeaseAttrs, parseLeaseName} from '../lease.js'
import type {BackendType, SubnetPool} from '../network-config.js'

/**
 * Leases as the overlay needs them: one peer per lease and address family. A key that
 * does not parse is reported and skipped: it never removes other peers (flannel's
 * watcher did exactly that).
 */
export interface Peer {
  /** flannel's lease name, e.g. `10.5.52.0-24` (dual stack `10.5.52.0-24&fd00:0:0:34::-64`). */
  name: string
  family: Family
  subnet: Cidr
  /** PublicIP for the IPv4 peer, PublicIPv6 for the IPv6 one: where its packets go. */
  publicIp: string
  /** The VTEP MAC of the peer's device of this family (BackendData / BackendV6Data); vxlan only. */
  vtepMac?: string
  hostName?: string
}

export interface RejectedLease {
  name: string
  reason: string
  /** Set when only that family of the lease is left out (the other is programmed). */
  family?: Family
}

export interface PeerSet {
  peers: Peer[]
  rejected: RejectedLease[]
}

/** What decides which leases this host programs: its backend and the families it runs. */
export interface PeerRules {
  backend: BackendType
  families: readonly Family[]
  pools: readonly SubnetPool[]
}

/**
 * One lease (its name and value) to its peers, following flannel's rules: a lease of
 * another backend is ignored whole (a vxlan host programs only vxlan leases, a host-gw
 * host only host-gw ones); each family needs the lease's public address of that family
 * and, for vxlan, its VTEP MAC of that family. A lease without PublicIPv6 is still an
 * IPv4 peer (flannel drops the whole lease).
 */
export function peersOfLease(name: string, value: string, rules: PeerRules): PeerSet {
  const set: PeerSet = {peers: [], rejected: []}
  const subnets = parseLeaseName(name)
  if (!subnets) return reject(set, name, 'the key is not a lease name such as 10.5.52.0-24')
  if (!leaseFitsPools(subnets, rules.pools)) return reject(set, name, `${[subnets.v4, subnets.v6].filter((c) => c).map((c) => formatCidr(c!)).join(' ')} is outside the network config`)
  const attrs: LeaseAttrs | undefined = parseLeaseAttrs(value)
  if (!attrs) return reject(set, name, 'the value is not a lease (no valid PublicIP)')
  if (attrs.BackendType !== rules.backend) return reject(set, name, `its backend is "${attrs.BackendType}", this host's is "${rules.backend}" (hosts program peers of their own backend only)`)
  for (const family of rules.families) {
    const subnet = family === 4 ? subnets.v4 : subnets.v6
    if (!subnet) continue
    const publicIp = family === 4 ? attrs.PublicIP : attrs.PublicIPv6
    if (!publicIp || publicIp === '0.0.0.0') {
      set.rejected.push({name, family, reason: family === 4 ? 'PublicIP is 0.0.0.0 (an IPv6-only host)' : 'no PublicIPv6: its IPv6 subnet is not reachable'})
      continue
    }
    const peer: Peer = {name, family, subnet, publicIp}
    if (rules.backend === 'vxlan') {
      const data = family === 4 ? attrs.BackendData : attrs.BackendV6Data
      if (!data) {
        set.rejected.push({name, family, reason: `no ${family === 4 ? 'BackendData' : 'BackendV6Data'}.VtepMAC`})
        continue
      }
      peer.vtepMac = data.VtepMAC
    }
    if (attrs.HostName !== undefined) peer.hostName = attrs.HostName
    set.peers.push(peer)
  }
  return set
}

function reject(set: PeerSet, name: string, reason: string): PeerSet {
  set.rejected.push({name, reason})
  return set
}

/** Every lease except our own, split into usable peers (sorted by family, then subnet) and rejections. */
export function peersFromLeases(leases: readonly {name: string; value: string}[], selfName: string, rules: PeerRules): PeerSet {
  const set: PeerSet = {peers: [], rejected: []}
  for (const lease of leases) {
    if (lease.name === selfName) continue
    const one = peersOfLease(lease.name, lease.value, rules)
    set.peers.push(...one.peers)
    set.rejected.push(...one.rejected)
  }
  set.peers.sort((a, b) => a.family - b.family || compareCidrs(a.subnet, b.subnet))
  return set
}

/** The `<subnet>.0` (or `<subnet>::`) address: the VTEP address flannel gives every host's device. */
export const vtepAddress = (subnet: Cidr): string => ipString(subnet.family, addressAt(subnet, 0n).value)

/** Whether an address is on one of the underlay's connected prefixes (no gateway needed). */
export function onSameSegment(address: string, connected: readonly Cidr[]): boolean {
  const ip = parseIp(address)
  return ip !== undefined && connected.some((c) => cidrContainsIp(c, ip))
}

/** A VTEP MAC that more than one lease gives for the same family: the overlay then delivers to only one of them. */
export interface SharedMac {
  family: Family
  mac: string
  leases: string[]
}

/**
 * Leases that share a VTEP MAC (per family; a lease's IPv4 and IPv6 devices may share
 * one). Two hosts with one MAC get one fdb entry between them, so one of the two
 * silently receives nothing.
 */
export function sharedMacs(macs: readonly {name: string; family: Family; vtepMac?: string}[]): SharedMac[] {
  // The first lease per MAC as a bare name, a set only once a second one shows up: ten
  // thousand leases are ten thousand MACs, nearly all given once.
  const byMac = new Map<string, string | {family: Family; mac: string; leases: Set<string>}>()
  for (const m of macs) {
    if (!m.vtepMac) continue
    const key = `${m.family} ${m.vtepMac}`
    const entry = byMac.get(key)
    if (entry === undefined) byMac.set(key, m.name)
    else if (typeof entry !== 'string') entry.leases.add(m.name)
    else if (entry !== m.name) byMac.set(key, {family: m.family, mac: m.vtepMac, leases: new Set([entry, m.name])})
  }
  return [...byMac.values()].flatMap((e) => (typeof e === 'string' ? [] : [{family: e.family, mac: e.mac, leases: [...e.leases]}]))
}

/** A list of lease names for a log line: the first few and how many there are. */
export function someLeases(names: readonly string[], shown = 10): string[] {
  return names.length <= shown ? [...names] : [...names.slice(0, shown), `... ${names.length} in all`]
}
