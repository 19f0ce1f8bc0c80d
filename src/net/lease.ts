import {type Cidr, cidrContains, formatCidr, hasHostBits, ipString, ipv4Value, parseCidr, parseIp} from './ip.js'
import type {SubnetPool} from './network-config.js'

/**
 * flannel's subnet lease, key and value, byte for byte: the key name is
 * `10.5.52.0-24` (dual stack `10.42.1.0-24&2001:cafe:42:1::-64`) and the value is
 * `{"PublicIP":..,"PublicIPv6":..,"BackendType":"vxlan","BackendData":{"VNI":..,"VtepMAC":..}}`
 * with cnet's extra `HostName` last (flannel's decoder ignores unknown fields).
 */
export interface VxlanBackendData {
  VNI: number
  VtepMAC: string
}

export interface LeaseAttrs {
  PublicIP: string
  PublicIPv6: string | null
  BackendType: string
  BackendData?: VxlanBackendData
  BackendV6Data?: VxlanBackendData
  HostName?: string
}

export interface LeaseSubnets {
  v4?: Cidr
  v6?: Cidr
}

export function formatLeaseName(subnets: LeaseSubnets): string {
  const part = (cidr: Cidr) => `${ipString(cidr.family, cidr.ip)}-${cidr.prefix}`
  return [subnets.v4, subnets.v6].filter((c): c is Cidr => c !== undefined).map(part).join('&')
}

/** Parses a lease name; undefined when it is not one flannel could have written. */
export function parseLeaseName(name: string): LeaseSubnets | undefined {
  const parts = name.split('&')
  if (parts.length === 0 || parts.length > 2) return undefined
  const subnets: LeaseSubnets = {}
  for (const part of parts) {
    const dash = part.lastIndexOf('-')
    if (dash < 0) return undefined
    const cidr = part.includes(':') ? parseIpv6Part(part, dash) : parseIpv4Part(part, dash)
    if (!cidr) return undefined
    if (cidr.family === 4 ? subnets.v4 : subnets.v6) return undefined
    if (cidr.family === 4) subnets.v4 = cidr
    else subnets.v6 = cidr
  }
  if (parts.length === 2 && !(subnets.v4 && subnets.v6)) return undefined
  return subnets
}

/** `10.5.52.0-24`, in the one form flannel writes (no leading zeros, no host bits), without a bigint until the end. */
function parseIpv4Part(part: string, dash: number): Cidr | undefined {
  const ip = ipv4Value(part.slice(0, dash))
  const prefixText = part.slice(dash + 1)
  const prefix = Number(prefixText)
  if (ip === undefined || !/^(0|[1-9]\d?)$/.test(prefixText) || prefix > 32 || ip % 2 ** (32 - prefix) !== 0) return undefined
  return {family: 4, ip: BigInt(ip), prefix}
}

/** `fd00:42:0:1::-64`: parsed, then required to be the network address written as flannel writes it. */
function parseIpv6Part(part: string, dash: number): Cidr | undefined {
  const cidr = parseCidr(`${part.slice(0, dash)}/${part.slice(dash + 1)}`)
  if (!cidr || cidr.family !== 6 || hasHostBits(cidr) || formatLeaseName({v6: cidr}) !== part) return undefined
  return cidr
}

export function formatLeaseAttrs(attrs: LeaseAttrs): string {
  // Build in flannel's field order; JSON.stringify keeps insertion order.
  const ordered: Record<string, unknown> = {PublicIP: attrs.PublicIP, PublicIPv6: attrs.PublicIPv6 ?? null, BackendType: attrs.BackendType}
  if (attrs.BackendData) ordered.BackendData = {VNI: attrs.BackendData.VNI, VtepMAC: attrs.BackendData.VtepMAC}
  if (attrs.BackendV6Data) ordered.BackendV6Data = {VNI: attrs.BackendV6Data.VNI, VtepMAC: attrs.BackendV6Data.VtepMAC}
  if (attrs.HostName !== undefined) ordered.HostName = attrs.HostName
  return JSON.stringify(ordered)
}

function pick(raw: Record<string, unknown>, name: string): unknown {
  // flannel's own spelling first: the common case, without scanning every key.
  if (Object.hasOwn(raw, name)) return raw[name]
  const lower = name.toLowerCase()
  const key = Object.keys(raw).find((k) => k.toLowerCase() === lower)
  return key === undefined ? undefined : raw[key]
}

/** The fields of a lease value as flannel and cnet spell them. */
const LEASE_FIELDS = new Set(['PublicIP', 'PublicIPv6', 'BackendType', 'BackendData', 'BackendV6Data', 'HostName'])

/**
 * How a lease value's fields are read: directly when every key is spelled as flannel
 * writes it (an absent field is then simply absent, with no scan of the keys for another
 * spelling, which was most of a 10,000-lease listing's parse); else case-insensitively.
 */
function leaseFieldReader(raw: Record<string, unknown>): (name: string) => unknown {
  for (const key in raw) if (!LEASE_FIELDS.has(key)) return (name) => pick(raw, name)
  return (name) => raw[name]
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i

function parseBackendData(value: unknown): VxlanBackendData | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const vni = pick(value as Record<string, unknown>, 'VNI')
  const mac = pick(value as Record<string, unknown>, 'VtepMAC')
  if (typeof mac !== 'string' || !MAC.test(mac)) return undefined
  return {VNI: typeof vni === 'number' ? vni : 0, VtepMAC: mac.toLowerCase()}
}

function canonicalIpv6(value: unknown): string | null {
  const ip = typeof value === 'string' ? parseIp(value) : undefined
  return ip?.family === 6 ? ipString(6, ip.value) : null
}

/**
 * Parses a lease value as flannel's decoder would (case-insensitive names, extra
 * fields ignored). Returns undefined when the value is not usable: no valid PublicIP.
 */
export function parseLeaseAttrs(text: string): LeaseAttrs | undefined {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined
  const field = leaseFieldReader(raw as Record<string, unknown>)
  const publicIp = field('PublicIP')
  if (typeof publicIp !== 'string' || parseIp(publicIp)?.family !== 4) return undefined
  const publicIpv6 = field('PublicIPv6')
  const backendType = field('BackendType')
  const hostName = field('HostName')
  const attrs: LeaseAttrs = {
    PublicIP: publicIp,
    PublicIPv6: canonicalIpv6(publicIpv6),
    BackendType: typeof backendType === 'string' ? backendType : '',
  }
  const data = parseBackendData(field('BackendData'))
  if (data) attrs.BackendData = data
  const dataV6 = parseBackendData(field('BackendV6Data'))
  if (dataV6) attrs.BackendV6Data = dataV6
  if (typeof hostName === 'string') attrs.HostName = hostName
  return attrs
}

/** Whether a lease's subnets fit a config's pools (same network, same subnet length). */
export function leaseFitsPools(subnets: LeaseSubnets, pools: readonly SubnetPool[]): boolean {
  for (const pool of pools) {
    const subnet = pool.family === 4 ? subnets.v4 : subnets.v6
    if (!subnet || subnet.prefix !== pool.subnetLen || !cidrContains(pool.network, subnet)) return false
  }
  return true
}

export const describeSubnets = (subnets: LeaseSubnets): string =>
  [subnets.v4, subnets.v6].filter((c): c is Cidr => c !== undefined).map(formatCidr).join(' ')
