import {existsSync, readFileSync} from 'node:fs'
import {ConfigError, ConflictError, UsageError} from '../lib/errors.js'
import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {cidrContains, formatCidr, hasHostBits, parseCidr, parseIp} from './ip.js'
import {type LeaseSubnets, formatLeaseAttrs, formatLeaseName, parseLeaseAttrs} from './lease.js'
import {subnetPools} from './network-config.js'
import {readNetworkConfig} from './network-store.js'
import {parseSubnetEnv} from './subnet-env.js'
import {type LeaseRow, leaseRows} from './subnet-listing.js'
import {randomVtepMac} from './vtep-mac.js'

/** `subnet show`, `release` and `reserve`: one lease by its subnet. */

/** Parses a SUBNET argument and checks it against the config: inside the network, the subnet length, aligned. */
export async function leaseSubnetsFor(store: Store, keys: Keys, text: string, what = 'SUBNET'): Promise<LeaseSubnets> {
  const cidr = parseCidr(text)
  if (!cidr || cidr.family !== 4) throw new UsageError(`${what}: "${text}" is not an IPv4 CIDR such as 10.5.52.0/24`)
  const pool = subnetPools(await readNetworkConfig(store, keys)).find((p) => p.family === 4)
  if (!pool || !cidrContains(pool.network, cidr)) throw new UsageError(`${what}: ${text} is not in the network ${pool ? formatCidr(pool.network) : ''}`.trim())
  if (cidr.prefix !== pool.subnetLen || hasHostBits(cidr)) throw new UsageError(`${what}: ${text} is not a /${pool.subnetLen} subnet on its boundary`)
  return {v4: cidr}
}

export async function showLease(store: Store, keys: Keys, subnetText: string): Promise<LeaseRow> {
  const subnets = await leaseSubnetsFor(store, keys, subnetText)
  const key = keys.subnet(formatLeaseName(subnets))
  const row = (await leaseRows(store, keys)).find((r) => r.key === key)
  if (!row) throw new ConfigError(`subnet: no lease for ${subnetText}`, 'cnet subnet list shows the leases')
  return row
}

/** The subnet named in a subnet file, for `release` without an argument. */
export function subnetFromFile(subnetFile: string): string {
  if (!existsSync(subnetFile)) throw new UsageError(`no SUBNET given and ${subnetFile} does not exist`, 'name the subnet or pass --subnet-file')
  const parsed = parseSubnetEnv(readFileSync(subnetFile, 'utf8'))
  if (!parsed.ok || !parsed.env.subnet) throw new ConfigError(`--subnet-file: ${subnetFile}: ${parsed.ok ? 'no FLANNEL_SUBNET' : parsed.problem}`)
  return formatCidr(parsed.env.subnet)
}

/** Frees a lease; someone else's (another PublicIP) only with force. */
export async function releaseLease(store: Store, keys: Keys, subnetText: string, ourPublicIp: string | undefined, force: boolean): Promise<{subnet: string; key: string; released: boolean}> {
  const subnets = await leaseSubnetsFor(store, keys, subnetText)
  const key = keys.subnet(formatLeaseName(subnets))
  const stored = await store.get(key)
  if (!stored) return {subnet: subnetText, key, released: false}
  const holder = parseLeaseAttrs(stored.value)?.PublicIP
  if (!force && holder !== ourPublicIp) {
    throw new ConflictError(`subnet release: ${subnetText} is held by ${holder ?? 'an unparsable lease'}, not by this host (${ourPublicIp ?? 'unknown public IP'})`, 'pass --force to release it anyway')
  }
  const released = await store.delete(key, {expectedModRevision: stored.modRevision})
  if (!released) throw new ConflictError(`subnet release: ${key} changed meanwhile`, 'run the command again')
  return {subnet: subnetText, key, released}
}

/** Pins a subnet to a public IP with no expiry: a lease key with no etcd lease. */
export async function reserveSubnet(store: Store, keys: Keys, subnetText: string, publicIp: string): Promise<{subnet: string; key: string; publicIp: string}> {
  if (parseIp(publicIp)?.family !== 4) throw new UsageError(`--public-ip: "${publicIp}" is not an IPv4 address`)
  const subnets = await leaseSubnetsFor(store, keys, subnetText)
  const config = await readNetworkConfig(store, keys)
  const key = keys.subnet(formatLeaseName(subnets))
  const existing = await store.get(key)
  if (existing && parseLeaseAttrs(existing.value)?.PublicIP !== publicIp) {
    throw new ConflictError(`subnet reserve: ${subnetText} is already held by another host`, 'release it first')
  }
  const value = formatLeaseAttrs({PublicIP: publicIp, PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: config.Backend.VNI, VtepMAC: randomVtepMac()}})
  // Put without a lease: a reservation never expires.
  if (!(await store.compareAndSwap(key, value, existing?.modRevision ?? 0))) throw new ConflictError(`subnet reserve: ${key} changed meanwhile`, 'run the command again')
  return {subnet: subnetText, key, publicIp}
}
