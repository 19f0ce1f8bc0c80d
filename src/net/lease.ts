import {type Cidr, cidrContains, formatCidr, hasHostBits, ipString, parseCidr, parseIp} from './ip.js'
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
    const cidr = parseCidr(`${part.slice(0, dash)}/${part.slice(dash + 1)}`)
    // flannel writes the network address in canonical form; anything else is not its key.
    if (!cidr || hasHostBits(cidr) || formatLeaseName(cidr.family === 4 ? {v4: cidr} : {v6: cidr}) !== part) return undefined
    if (cidr.family === 4 ? subnets.v4 : subnets.v6) return undefined
    if (cidr.family === 4) subnets.v4 = cidr
    else subnets.v6 = cidr
  }
  if (parts.length === 2 && !(subnets.v4 && subnets.v6)) return undefined
  return subnets
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
  const r = raw as Record<string, unknown>
  const publicIp = pick(r, 'PublicIP')
  if (typeof publicIp !== 'string' || parseIp(publicIp)?.family !== 4) return undefined
  const publicIpv6 = pick(r, 'PublicIPv6')
  const backendType = pick(r, 'BackendType')
  const hostName = pick(r, 'HostName')
  const attrs: LeaseAttrs = {
    PublicIP: publicIp,
    PublicIPv6: canonicalIpv6(publicIpv6),
    BackendType: typeof backendType === 'string' ? backendType : '',
  }
  const data = parseBackendData(pick(r, 'BackendData'))
  if (data) attrs.BackendData = data
  const dataV6 = parseBackendData(pick(r, 'BackendV6Data'))
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
