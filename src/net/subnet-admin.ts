import {existsSync, readFileSync} from 'node:fs'
import {ConfigError, ConflictError, InvalidValueError} from '../lib/errors.js'
import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {parsePublicIpv6} from './host-address.js'
import {type Cidr, type Family, cidrContains, formatCidr, hasHostBits, parseCidr, parseIp, sameCidr} from './ip.js'
import {type LeaseAttrs, type LeaseSubnets, formatLeaseAttrs, formatLeaseName, leaseFitsPools} from './lease.js'
import {type SubnetPool, subnetPools, vxlanOf} from './network-config.js'
import {readNetworkConfig} from './network-store.js'
import {pickFree} from './subnet-allocate.js'
import {parseSubnetEnv} from './subnet-env.js'
import {type LeaseRow, type ListedLease, leaseRow, listLeases} from './subnet-listing.js'
import {randomVtepMac} from './vtep-mac.js'

/**
 * `subnet show`, `release` and `reserve`: one lease by its subnet. A lease is found by
 * the subnet of the family given, so under a dual-stack config `10.5.1.0/24` finds the
 * key `10.5.1.0-24&fc00::-64` (flannel's dual-stack name), whatever its IPv6 half.
 */

/** A subnet checked against the config: a family it enables, inside that network, the subnet length, aligned. */
function parseSubnetArg(pools: readonly SubnetPool[], text: string, field = 'subnet'): {cidr: Cidr; pool: SubnetPool} {
  const example = pools.map((p) => (p.family === 4 ? '10.5.52.0/24' : 'fd00:42:0:1::/64')).join(' or ')
  const cidr = parseCidr(text)
  if (!cidr) throw new InvalidValueError(field, `"${text}" is not a subnet such as ${example || '10.5.52.0/24'}`)
  const pool = pools.find((p) => p.family === cidr.family)
  if (!pool) throw new InvalidValueError(field, `${text} is an IPv${cidr.family} subnet, but the network config does not enable IPv${cidr.family}`)
  if (!cidrContains(pool.network, cidr)) throw new InvalidValueError(field, `${text} is not in the network ${formatCidr(pool.network)}`)
  if (cidr.prefix !== pool.subnetLen || hasHostBits(cidr)) throw new InvalidValueError(field, `${text} is not a /${pool.subnetLen} subnet on its boundary`)
  return {cidr, pool}
}

const subnetOf = (subnets: LeaseSubnets, family: Family) => (family === 4 ? subnets.v4 : subnets.v6)

/** The lease holding a subnet: the one whose key fits the config first, else any. */
function findLease(leases: readonly ListedLease[], cidr: Cidr, pools: readonly SubnetPool[]): ListedLease | undefined {
  const holding = leases.filter((l) => {
    const held = l.subnets && subnetOf(l.subnets, cidr.family)
    return held !== undefined && sameCidr(held, cidr)
  })
  return holding.find((l) => leaseFitsPools(l.subnets!, pools)) ?? holding[0]
}

async function lookUp(store: Store, keys: Keys, subnetText: string) {
  const pools = subnetPools(await readNetworkConfig(store, keys))
  const {cidr, pool} = parseSubnetArg(pools, subnetText)
  const leases = await listLeases(store, keys)
  return {pools, cidr, pool, leases, lease: findLease(leases, cidr, pools)}
}

export async function showLease(store: Store, keys: Keys, subnetText: string): Promise<LeaseRow> {
  const {lease} = await lookUp(store, keys, subnetText)
  if (!lease) throw new ConfigError(`subnet: no lease for ${subnetText}`, 'cnet subnet list shows the leases')
  return leaseRow(store, lease)
}

/** The subnet named in a subnet file (its IPv4 one, else its IPv6 one), for `release` without an argument. */
export function subnetFromFile(subnetFile: string): string {
  if (!existsSync(subnetFile)) throw new InvalidValueError('subnet-file', `${subnetFile} does not exist and no subnet was named`, 'name the subnet, or the subnet file that holds it')
  const parsed = parseSubnetEnv(readFileSync(subnetFile, 'utf8'))
  const subnet = parsed.ok ? (parsed.env.subnet ?? parsed.env.ipv6Subnet) : undefined
  if (!parsed.ok || !subnet) throw new ConfigError(`subnet: the subnet file ${subnetFile} is invalid: ${parsed.ok ? 'no FLANNEL_SUBNET' : parsed.problem}`)
  return formatCidr(subnet)
}

/**
 * What tells this host's lease from another host's, without asking the user for the
 * public IP again: the VTEP MACs kept for its subnet file (random, so a match is ours),
 * a public IP given on the command line, or an address held by one of its interfaces.
 */
export interface Ownership {
  vtepMacs?: readonly string[]
  publicIp?: string
  /** Read only when the cheaper evidence does not settle it. */
  localAddresses?: () => Promise<string[]>
}

export async function isOwnLease(lease: ListedLease, owner: Ownership): Promise<boolean> {
  const attrs = lease.attrs
  if (!attrs) return false
  const macs = [attrs.BackendData?.VtepMAC, attrs.BackendV6Data?.VtepMAC].filter((m): m is string => m !== undefined)
  if (owner.vtepMacs?.some((m) => macs.includes(m.toLowerCase()))) return true
  if (owner.publicIp !== undefined && attrs.PublicIP === owner.publicIp) return true
  if (!owner.localAddresses) return false
  const local = await owner.localAddresses()
  return (attrs.PublicIP !== '0.0.0.0' && local.includes(attrs.PublicIP)) || (attrs.PublicIPv6 !== null && local.includes(attrs.PublicIPv6))
}

/** Frees a lease; someone else's (see Ownership) only with force. `key` is null when nothing was leased. */
export async function releaseLease(store: Store, keys: Keys, subnetText: string, owner: Ownership | 'force'): Promise<{subnet: string; key: string | null; released: boolean}> {
  const {lease} = await lookUp(store, keys, subnetText)
  if (!lease) return {subnet: subnetText, key: null, released: false}
  if (owner !== 'force' && !(await isOwnLease(lease, owner))) {
    const holder = lease.attrs ? [lease.attrs.PublicIP, lease.attrs.PublicIPv6].filter((a) => a && a !== '0.0.0.0').join(' ') : 'an unparsable lease'
    throw new ConflictError(`subnet release: ${subnetText} is held by ${holder}, not by this host (no address here holds it, and its VTEP MAC is not the one kept for this subnet file)`, 'only by force', 'force')
  }
  const released = await store.delete(lease.key, {expectedModRevision: lease.modRevision})
  if (!released) throw new ConflictError(`subnet release: ${lease.key} changed meanwhile`, 'run the command again')
  return {subnet: subnetText, key: lease.key, released}
}

export interface ReserveOptions {
  publicIp: string
  /** Dual stack: the IPv6 subnet to pin with it (default: the one the host's lease has, else the first free one). */
  ipv6Subnet?: string
  /** Dual stack: PublicIPv6 (default: the one the host's lease has, else null). */
  publicIpv6?: string
}

export interface ReserveResult {
  subnet: string
  ipv6Subnet?: string
  key: string
  publicIp: string
  publicIpv6?: string | null
}

/**
 * Pins a subnet to a public IP with no expiry: a lease key with no etcd lease, named
 * and written as acquisition would (both subnets under dual stack), so `subnet lease`
 * on that host reuses it. Over the host's own lease it keeps its VTEP MAC.
 */
export async function reserveSubnet(store: Store, keys: Keys, subnetText: string, options: ReserveOptions): Promise<ReserveResult> {
  const {publicIp} = options
  if (parseIp(publicIp)?.family !== 4) throw new InvalidValueError('public-ip', `"${publicIp}" is not an IPv4 address`)
  const publicIpv6Flag = options.publicIpv6 === undefined ? undefined : parsePublicIpv6(options.publicIpv6)
  const config = await readNetworkConfig(store, keys)
  const pools = subnetPools(config)
  const {cidr} = parseSubnetArg(pools, subnetText)
  const v6Pool = pools.find((p) => p.family === 6)
  const dualStack = v6Pool !== undefined && pools.length === 2
  if (dualStack && cidr.family === 6) throw new InvalidValueError('subnet', 'name the IPv4 subnet of a dual-stack lease; the IPv6 one goes in ipv6-subnet')
  if (options.ipv6Subnet !== undefined && !dualStack) throw new InvalidValueError('ipv6-subnet', 'the network config does not enable both IPv4 and IPv6')
  if (publicIpv6Flag !== undefined && !v6Pool) throw new InvalidValueError('public-ipv6', 'the network config does not enable IPv6')
  const wantedV6 = options.ipv6Subnet === undefined ? undefined : parseSubnetArg(pools, options.ipv6Subnet, 'ipv6-subnet').cidr
  if (wantedV6 && wantedV6.family !== 6) throw new InvalidValueError('ipv6-subnet', `"${options.ipv6Subnet}" is not an IPv6 subnet`)

  const leases = await listLeases(store, keys)
  const existing = findLease(leases, cidr, pools)
  if (existing && existing.attrs?.PublicIP !== publicIp) {
    throw new ConflictError(`subnet reserve: ${subnetText} is already held by ${existing.attrs?.PublicIP ?? 'an unparsable lease'}`, 'release it first')
  }
  if (existing && !leaseFitsPools(existing.subnets!, pools)) {
    throw new ConflictError(`subnet reserve: ${subnetText} is held by this host under ${existing.name}, which does not fit the network config`, 'release it first')
  }
  let subnets: LeaseSubnets
  if (existing) {
    subnets = existing.subnets!
    if (wantedV6 && !sameCidr(wantedV6, subnets.v6!)) {
      throw new ConflictError(`subnet reserve: ${subnetText} is held by this host with ${formatCidr(subnets.v6!)}, not ${options.ipv6Subnet}`, 'release it first, or leave the IPv6 subnet out', 'ipv6-subnet')
    }
  } else if (dualStack) {
    const takenV6 = new Set(leases.flatMap((l) => (l.subnets?.v6 ? [l.subnets.v6.ip] : [])))
    if (wantedV6 && takenV6.has(wantedV6.ip)) throw new ConflictError(`subnet reserve: the IPv6 subnet ${options.ipv6Subnet} is already held by another lease`, 'choose another, or leave it out', 'ipv6-subnet')
    subnets = {v4: cidr, v6: wantedV6 ?? pickFree(v6Pool, takenV6, () => 0)}
  } else {
    subnets = cidr.family === 4 ? {v4: cidr} : {v6: cidr}
  }

  const publicIpv6 = v6Pool ? (publicIpv6Flag ?? existing?.attrs?.PublicIPv6 ?? null) : null
  const attrs: LeaseAttrs = {PublicIP: publicIp, PublicIPv6: publicIpv6, BackendType: config.Backend.Type}
  const vxlan = vxlanOf(config)
  if (vxlan) {
    // Over the host's own lease its MACs are kept; else each device gets a new one.
    if (subnets.v4) attrs.BackendData = {VNI: vxlan.VNI, VtepMAC: existing?.attrs?.BackendData?.VtepMAC ?? randomVtepMac()}
    if (subnets.v6) attrs.BackendV6Data = {VNI: vxlan.VNI, VtepMAC: existing?.attrs?.BackendV6Data?.VtepMAC ?? randomVtepMac()}
  }
  if (existing?.attrs?.HostName !== undefined) attrs.HostName = existing.attrs.HostName
  const key = existing?.key ?? keys.subnet(formatLeaseName(subnets))
  // Written without a lease: a reservation never expires.
  if (!(await store.compareAndSwap(key, formatLeaseAttrs(attrs), existing?.modRevision ?? 0))) {
    throw new ConflictError(`subnet reserve: ${key} changed meanwhile`, 'run the command again')
  }
  return {
    subnet: subnets.v4 ? formatCidr(subnets.v4) : formatCidr(subnets.v6!),
    ipv6Subnet: subnets.v4 && subnets.v6 ? formatCidr(subnets.v6) : undefined,
    key,
    publicIp,
    publicIpv6: v6Pool ? publicIpv6 : undefined,
  }
}
