import {type Cidr, type Family, bitsOf, cidrContainsIp, formatCidr, hasHostBits, hostMask, ipString, normaliseCidr, parseCidr, parseIp} from './ip.js'

/**
 * flannel's network config (`<prefix>/config`), read the way flannel reads it: field
 * names case-insensitively, the same defaults and the same rules. Pure: text in,
 * config or a list of problems out.
 */
export const DEFAULT_VXLAN_PORT = 8472
export const DEFAULT_VNI = 1
export const MAX_VNI = 0xffffff

export interface VxlanBackend {
  Type: 'vxlan'
  VNI: number
  /** The UDP port; 0 in etcd means the kernel default, shown here as 8472. */
  Port: number
  /** 0: the underlay MTU minus the VXLAN overhead. */
  MTU: number
  GBP: boolean
  Learning: boolean
  DirectRouting: boolean
}

/** flannel's host-gw: a route per peer subnet via the peer's public IP, no encapsulation, no settings. */
export interface HostGwBackend {
  Type: 'host-gw'
}

export type Backend = VxlanBackend | HostGwBackend
export type BackendType = Backend['Type']
export const BACKEND_TYPES: readonly BackendType[] = ['vxlan', 'host-gw']

/** The config with every default filled in: what `network show` prints. */
export interface NetworkConfig {
  Network?: string
  SubnetLen?: number
  SubnetMin?: string
  SubnetMax?: string
  EnableIPv4: boolean
  EnableIPv6: boolean
  IPv6Network?: string
  IPv6SubnetLen?: number
  IPv6SubnetMin?: string
  IPv6SubnetMax?: string
  Backend: Backend
}

/** One family's range of subnets, as numbers, for allocation and checks. */
export interface SubnetPool {
  family: Family
  network: Cidr
  subnetLen: number
  /** Network address of the first and last subnet that may be leased. */
  min: bigint
  max: bigint
}

export interface ConfigProblem {
  /** flannel's field name ("SubnetLen", "Backend.VNI"). */
  field: string
  message: string
}

export type ParseResult = {ok: true; config: NetworkConfig} | {ok: false; problems: ConfigProblem[]}

type Raw = Record<string, unknown>

/** Go's encoding/json matches field names case-insensitively; so do we. */
function field(raw: Raw, name: string): unknown {
  if (name in raw) return raw[name]
  const lower = name.toLowerCase()
  const match = Object.keys(raw).find((k) => k.toLowerCase() === lower)
  return match === undefined ? undefined : raw[match]
}

export function parseNetworkConfigText(text: string): ParseResult {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    return {ok: false, problems: [{field: 'config', message: `not valid JSON: ${(error as Error).message}`}]}
  }
  return parseNetworkConfig(raw)
}

export function parseNetworkConfig(raw: unknown): ParseResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {ok: false, problems: [{field: 'config', message: 'must be a JSON object'}]}
  }
  const problems: ConfigProblem[] = []
  const r = raw as Raw
  const enableIPv4 = readBool(r, 'EnableIPv4', true, problems)
  const enableIPv6 = readBool(r, 'EnableIPv6', false, problems)
  const config: NetworkConfig = {EnableIPv4: enableIPv4, EnableIPv6: enableIPv6, Backend: parseBackend(field(r, 'Backend'), problems)}
  if (!enableIPv4 && !enableIPv6) problems.push({field: 'EnableIPv4', message: 'at least one of EnableIPv4 and EnableIPv6 must be true'})
  if (enableIPv4) {
    const pool = parseFamily(r, 4, {network: 'Network', len: 'SubnetLen', min: 'SubnetMin', max: 'SubnetMax'}, problems)
    if (pool) Object.assign(config, {Network: formatCidr(pool.network), SubnetLen: pool.subnetLen, SubnetMin: ipString(4, pool.min), SubnetMax: ipString(4, pool.max)})
  }
  if (enableIPv6) {
    const names = {network: 'IPv6Network', len: 'IPv6SubnetLen', min: 'IPv6SubnetMin', max: 'IPv6SubnetMax'}
    const pool = parseFamily(r, 6, names, problems)
    if (pool) Object.assign(config, {IPv6Network: formatCidr(pool.network), IPv6SubnetLen: pool.subnetLen, IPv6SubnetMin: ipString(6, pool.min), IPv6SubnetMax: ipString(6, pool.max)})
  }
  if (problems.length > 0) return {ok: false, problems}
  // flannel's field order, so `network show` reads like the config it came from.
  const {Backend, EnableIPv4: v4, EnableIPv6: v6, ...fields} = config
  return {ok: true, config: {...fields, EnableIPv4: v4, EnableIPv6: v6, Backend}}
}

function readBool(raw: Raw, name: string, fallback: boolean, problems: ConfigProblem[]): boolean {
  const value = field(raw, name)
  if (value === undefined || value === null) return fallback
  if (typeof value !== 'boolean') {
    problems.push({field: name, message: `must be true or false, got ${JSON.stringify(value)}`})
    return fallback
  }
  return value
}

function readInt(raw: Raw, name: string, label: string, problems: ConfigProblem[]): number | undefined {
  const value = field(raw, name)
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    problems.push({field: label, message: `must be a whole number >= 0, got ${JSON.stringify(value)}`})
    return undefined
  }
  return value
}

interface FamilyNames {
  network: string
  len: string
  min: string
  max: string
}

function parseFamily(raw: Raw, family: Family, names: FamilyNames, problems: ConfigProblem[]): SubnetPool | undefined {
  const bits = bitsOf(family)
  const networkText = field(raw, names.network)
  const what = family === 4 ? 'an IPv4 CIDR such as 10.5.0.0/16' : 'an IPv6 CIDR such as fd00:42::/48'
  if (typeof networkText !== 'string' || networkText === '') {
    problems.push({field: names.network, message: `is required: ${what}`})
    return undefined
  }
  const parsed = parseCidr(networkText)
  if (!parsed || parsed.family !== family) {
    problems.push({field: names.network, message: `"${networkText}" is not ${what}`})
    return undefined
  }
  // flannel masks the host bits of Network rather than refusing them.
  const network = hasHostBits(parsed) ? normaliseCidr(parsed) : parsed
  const start = problems.length
  let subnetLen = readInt(raw, names.len, names.len, problems)
  const maxLen = family === 4 ? 30 : 126
  const defaultLen = family === 4 ? 24 : 64
  if (subnetLen !== undefined && subnetLen > 0) {
    if (subnetLen > maxLen) problems.push({field: names.len, message: `${subnetLen} is too long: at most ${maxLen}`})
    else if (subnetLen < network.prefix + 2) {
      problems.push({field: names.len, message: `${subnetLen} is too short for /${network.prefix}: at least ${network.prefix + 2}, so the network holds at least four subnets`})
    }
  } else if (network.prefix > maxLen - 2) {
    problems.push({field: names.network, message: `/${network.prefix} is too small: the longest allowed prefix is /${maxLen - 2}`})
  } else {
    subnetLen = network.prefix <= defaultLen - 2 ? defaultLen : network.prefix + 2
  }
  if (problems.length > start || subnetLen === undefined) return undefined
  const size = 1n << BigInt(bits - subnetLen)
  const last = network.ip + hostMask(family, network.prefix) + 1n - size
  const min = readBound(raw, names.min, family, network, subnetLen, network.ip + size, problems)
  const max = readBound(raw, names.max, family, network, subnetLen, last, problems)
  if (min === undefined || max === undefined) return undefined
  if (min > max) {
    problems.push({field: names.min, message: `${ipString(family, min)} is above ${names.max} ${ipString(family, max)}`})
    return undefined
  }
  return {family, network, subnetLen, min, max}
}

function readBound(raw: Raw, name: string, family: Family, network: Cidr, subnetLen: number, fallback: bigint, problems: ConfigProblem[]): bigint | undefined {
  const value = field(raw, name)
  if (value === undefined || value === null || value === '' || value === '0.0.0.0' || value === '::') return fallback
  const ip = typeof value === 'string' ? parseIp(value) : undefined
  if (!ip || ip.family !== family) {
    problems.push({field: name, message: `${JSON.stringify(value)} is not an IPv${family} address`})
    return undefined
  }
  if (!cidrContainsIp(network, ip)) {
    problems.push({field: name, message: `${value} is outside the network ${formatCidr(network)}`})
    return undefined
  }
  if ((ip.value & hostMask(family, subnetLen)) !== 0n) {
    problems.push({field: name, message: `${value} is not on a /${subnetLen} boundary`})
    return undefined
  }
  return ip.value
}

function parseBackend(value: unknown, problems: ConfigProblem[]): Backend {
  const backend: VxlanBackend = {Type: 'vxlan', VNI: DEFAULT_VNI, Port: DEFAULT_VXLAN_PORT, MTU: 0, GBP: false, Learning: false, DirectRouting: false}
  if (value === undefined || value === null) return backend
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push({field: 'Backend', message: 'must be a JSON object such as {"Type":"vxlan"}'})
    return backend
  }
  const raw = value as Raw
  const type = field(raw, 'Type')
  // flannel lower-cases the type before looking the backend up.
  const known = typeof type === 'string' ? BACKEND_TYPES.find((t) => t === type.toLowerCase()) : undefined
  if (type !== undefined && !known) {
    problems.push({field: 'Backend.Type', message: `${JSON.stringify(type)} is not supported: cnet implements ${BACKEND_TYPES.map((t) => `"${t}"`).join(' and ')}`})
  }
  // host-gw has no settings (flannel ignores any it is given).
  if (known === 'host-gw') return {Type: 'host-gw'}
  const vni = readInt(raw, 'VNI', 'Backend.VNI', problems)
  if (vni !== undefined && vni > 0) {
    if (vni > MAX_VNI) problems.push({field: 'Backend.VNI', message: `${vni} is out of range: 1 to ${MAX_VNI}`})
    else backend.VNI = vni
  }
  const port = readInt(raw, 'Port', 'Backend.Port', problems)
  if (port !== undefined && port > 0) {
    if (port > 65535) problems.push({field: 'Backend.Port', message: `${port} is out of range: 1 to 65535 (0 for ${DEFAULT_VXLAN_PORT})`})
    else backend.Port = port
  }
  const mtu = readInt(raw, 'MTU', 'Backend.MTU', problems)
  if (mtu !== undefined && mtu > 0) {
    if (mtu < 576 || mtu > 65535) problems.push({field: 'Backend.MTU', message: `${mtu} is out of range: 576 to 65535 (0 for automatic)`})
    else backend.MTU = mtu
  }
  backend.GBP = readBool(raw, 'GBP', false, problems)
  backend.Learning = readBool(raw, 'Learning', false, problems)
  backend.DirectRouting = readBool(raw, 'DirectRouting', false, problems)
  return backend
}

/** The subnet pools of a parsed config, one per enabled family. */
export function subnetPools(config: NetworkConfig): SubnetPool[] {
  const pools: SubnetPool[] = []
  if (config.EnableIPv4 && config.Network) {
    pools.push(poolOf(4, config.Network, config.SubnetLen!, config.SubnetMin!, config.SubnetMax!))
  }
  if (config.EnableIPv6 && config.IPv6Network) {
    pools.push(poolOf(6, config.IPv6Network, config.IPv6SubnetLen!, config.IPv6SubnetMin!, config.IPv6SubnetMax!))
  }
  return pools
}

function poolOf(family: Family, network: string, subnetLen: number, min: string, max: string): SubnetPool {
  return {family, network: parseCidr(network)!, subnetLen, min: parseIp(min)!.value, max: parseIp(max)!.value}
}

/** How many subnets a pool holds between min and max. */
export function poolSize(pool: SubnetPool): bigint {
  return (pool.max - pool.min) / (1n << BigInt(bitsOf(pool.family) - pool.subnetLen)) + 1n
}

/**
 * VXLAN's overhead on the underlay: the outer Ethernet, IP, UDP and VXLAN headers. An
 * IPv6 underlay (the IPv6 device's) costs 20 bytes more than an IPv4 one; flannel
 * takes 50 for both, which leaves full-size IPv6 pod packets too big for the underlay.
 */
export const vxlanOverhead = (underlayFamily: Family): number => (underlayFamily === 4 ? 50 : 70)

/**
 * One device's MTU for an underlay MTU: vxlan's configured MTU wins over the
 * underlay's, less the overhead; host-gw adds no header, so it is the underlay's own.
 */
export function overlayMtu(backend: Backend, underlayMtu: number, family: Family = 4): number {
  if (backend.Type === 'host-gw') return underlayMtu
  return (backend.MTU > 0 ? backend.MTU : underlayMtu) - vxlanOverhead(family)
}

/**
 * FLANNEL_MTU: the MTU every pod interface gets, so its packets fit the overlay of
 * each family it uses: the smallest device MTU of the families the config enables.
 */
export function podMtu(config: NetworkConfig, underlayMtu: number): number {
  const families: Family[] = [...(config.EnableIPv4 ? [4 as const] : []), ...(config.EnableIPv6 ? [6 as const] : [])]
  return Math.min(...families.map((f) => overlayMtu(config.Backend, underlayMtu, f)))
}

/** The VXLAN settings, or undefined for a backend without a device. */
export const vxlanOf = (config: NetworkConfig): VxlanBackend | undefined => (config.Backend.Type === 'vxlan' ? config.Backend : undefined)
