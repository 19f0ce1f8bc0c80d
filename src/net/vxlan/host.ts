import {readFileSync} from 'node:fs'
import {ConfigError, InvalidValueError} from '../../lib/errors.js'
import type {Logger} from '../../lib/log.js'
import type {Keys} from '../../store/keys.js'
import type {Store} from '../../store/store.js'
import {type Cidr, type Family, formatCidr, normaliseCidr, parseCidr} from '../ip.js'
import {type LeaseAttrs, formatLeaseName, parseLeaseAttrs} from '../lease.js'
import {type BackendType, type NetworkConfig, type SubnetPool, subnetPools, vxlanOf} from '../network-config.js'
import {readNetworkConfig} from '../network-store.js'
import {parseSubnetEnv} from '../subnet-env.js'
import {MAX_DEVICE_NAME, type SelfFamily, type Underlay, defaultDeviceName, desiredState} from './desired.js'
import type {Kernel, UnderlayLink} from './kernel.js'
import type {DesiredState} from './model.js'
import {type PeerSet, type SharedMac, peersFromLeases, sharedMacs} from './peers.js'

/** What every overlay operation needs: the store, the keys, a logger and the kernel. */
export interface OverlayContext {
  store: Store
  keys: Keys
  logger: Logger
  kernel: Kernel
}

export interface OverlaySettings {
  subnetFile: string
  iface?: string
  /** The IPv4 device's name (default cnet.<VNI>). */
  deviceName?: string
  /** The IPv6 device's name (default cnet-v6.<VNI>). */
  deviceNameV6?: string
  ipMasq: boolean
}

/** This host as the overlay sees it: config, own lease, underlay and one entry per family it runs. */
export interface HostView {
  config: NetworkConfig
  backend: BackendType
  pools: SubnetPool[]
  selfName: string
  underlay: Underlay
  /** The kernel has nexthop objects, and IPv4 overlay routes go through them (asked only of a vxlan host running IPv4). */
  nexthops?: boolean
  /** IPv4 first when both run. */
  families: SelfFamily[]
  /** Families the config enables that this host cannot run (say why), e.g. no PublicIPv6. */
  skipped: {family: Family; reason: string}[]
}

const LEASE_HINT = 'acquire one first with: cnet subnet lease'

/** The subnets this host leased, from its subnet.env. */
export function readOwnSubnets(subnetFile: string): {v4?: Cidr; v6?: Cidr} {
  let text: string
  try {
    text = readFileSync(subnetFile, 'utf8')
  } catch (error) {
    throw new ConfigError(`vxlan: cannot read the subnet file ${subnetFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, LEASE_HINT)
  }
  const parsed = parseSubnetEnv(text)
  if (!parsed.ok) throw new ConfigError(`vxlan: the subnet file ${subnetFile} is invalid: ${parsed.problem}`)
  if (!parsed.env.subnet && !parsed.env.ipv6Subnet) throw new ConfigError(`vxlan: the subnet file ${subnetFile} names no subnet`, LEASE_HINT)
  return {v4: parsed.env.subnet, v6: parsed.env.ipv6Subnet}
}

/** Reads config and own lease from etcd and finds the underlay. Changes nothing. */
export async function loadHost(ctx: OverlayContext, settings: OverlaySettings): Promise<HostView> {
  const config = await readNetworkConfig(ctx.store, ctx.keys)
  const own = readOwnSubnets(settings.subnetFile)
  // A dual-stack lease is one key naming both subnets, as flannel writes it.
  const selfName = formatLeaseName(own)
  const key = ctx.keys.subnet(selfName)
  const stored = await ctx.store.get(key)
  if (!stored) throw new ConfigError(`vxlan: no lease for ${[own.v4, own.v6].filter((c) => c).map((c) => formatCidr(c!)).join(' ')} at ${key}`, LEASE_HINT)
  const attrs = parseLeaseAttrs(stored.value)
  if (!attrs) throw new ConfigError(`vxlan: the lease at ${key} is not a lease (no valid PublicIP)`, LEASE_HINT)
  const backend = config.Backend.Type
  if (attrs.BackendType !== backend) {
    throw new ConfigError(`vxlan: the lease at ${key} is for backend "${attrs.BackendType}" but the network config says "${backend}"`, 'lease again with cnet subnet lease, which rewrites it')
  }
  const wantV4 = config.EnableIPv4 && own.v4 !== undefined
  const underlayAddress = wantV4 ? attrs.PublicIP : (attrs.PublicIPv6 ?? '')
  const [link, nexthops] = await Promise.all([ctx.kernel.findUnderlay({iface: settings.iface, address: underlayAddress}), backend === 'vxlan' && wantV4 ? ctx.kernel.nexthops() : false])
  if (!link) {
    if (settings.iface) throw new InvalidValueError('iface', `no interface named ${settings.iface}`)
    throw new ConfigError(`vxlan: no interface holds the lease's ${wantV4 ? 'PublicIP' : 'PublicIPv6'} ${underlayAddress || '(none)'}`, 'name the underlay interface', 'iface')
  }
  const underlay = underlayOf(link)
  const families: SelfFamily[] = []
  const skipped: HostView['skipped'] = []
  for (const family of [4, 6] as const) {
    const subnet = family === 4 ? own.v4 : own.v6
    const enabled = family === 4 ? config.EnableIPv4 : config.EnableIPv6
    if (!enabled || !subnet) continue
    const self = selfFamily(config, attrs, family, subnet, settings, key)
    if (typeof self === 'string') skipped.push({family, reason: self})
    else families.push(self)
  }
  if (families.length === 0) throw new ConfigError(`vxlan: nothing to program: ${skipped.map((s) => s.reason).join('; ')}`, 'lease again with cnet subnet lease, naming the public IPv6 address')
  if (backend === 'host-gw') requireOwnAddresses(families, link)
  return {config, backend, pools: subnetPools(config), selfName, underlay, nexthops, families, skipped}
}

function underlayOf(link: UnderlayLink): Underlay {
  const connected = link.addresses.flatMap((a) => {
    const cidr = parseCidr(`${a.address}/${a.prefix}`)
    return cidr ? [normaliseCidr(cidr)] : []
  })
  return {name: link.name, mtu: link.mtu, connected}
}

/** One family of this host, or why it cannot run (a family the host has no public address of). */
function selfFamily(config: NetworkConfig, attrs: LeaseAttrs, family: Family, subnet: Cidr, settings: OverlaySettings, key: string): SelfFamily | string {
  const network = parseCidr((family === 4 ? config.Network : config.IPv6Network) ?? '')
  if (!network) throw new ConfigError(`vxlan: the network config has no IPv${family} network`)
  const publicIp = family === 4 ? attrs.PublicIP : attrs.PublicIPv6
  if (!publicIp || publicIp === '0.0.0.0') return `the lease at ${key} has no ${family === 4 ? 'PublicIP' : 'PublicIPv6'}, so IPv${family} is not programmed`
  const self: SelfFamily = {family, subnet, network, publicIp}
  const vxlan = vxlanOf(config)
  if (vxlan) {
    const data = family === 4 ? attrs.BackendData : attrs.BackendV6Data
    if (!data) throw new ConfigError(`vxlan: the lease at ${key} has no ${family === 4 ? 'BackendData' : 'BackendV6Data'}.VtepMAC`, 'lease again with cnet subnet lease')
    self.vtepMac = data.VtepMAC
    const name = (family === 4 ? settings.deviceName : settings.deviceNameV6) ?? defaultDeviceName(vxlan.VNI, family)
    if (name.length > MAX_DEVICE_NAME) throw new InvalidValueError(family === 4 ? 'device' : 'device-v6', `${name} is longer than ${MAX_DEVICE_NAME} characters, Linux's limit for an interface name`, 'name the device yourself')
    self.deviceName = name
  }
  return self
}

/** host-gw cannot work behind NAT: each public address must be the underlay's own (flannel refuses the same). */
function requireOwnAddresses(families: readonly SelfFamily[], link: UnderlayLink): void {
  for (const self of families) {
    if (!link.addresses.some((a) => a.address === self.publicIp)) {
      throw new ConfigError(`vxlan: host-gw needs this host's public address ${self.publicIp} on the underlay ${link.name}, which does not hold it (NAT is not supported by host-gw)`, 'lease with the address of the underlay interface, or use the vxlan backend')
    }
  }
}

export interface LeaseText {
  name: string
  value: string
}

/** Every lease under the subnets prefix, by name. */
export async function listLeases(ctx: Pick<OverlayContext, 'store' | 'keys'>): Promise<{leases: LeaseText[]; revision: number}> {
  const listing = await ctx.store.list(ctx.keys.subnetsPrefix())
  const leases: LeaseText[] = []
  for (const item of listing.items) {
    const name = ctx.keys.subnetNameOf(item.key)
    if (name !== undefined) leases.push({name, value: item.value})
  }
  return {leases, revision: listing.revision}
}

export interface OverlayPlan {
  /** One per family this host runs, in the order of host.families. */
  states: DesiredState[]
  peerSet: PeerSet
  /** VTEP MACs that more than one lease (ours included) gives. */
  shared: SharedMac[]
}

/** The desired kernel state for this host and these leases. Pure. */
export function planFor(host: HostView, leases: readonly LeaseText[]): OverlayPlan {
  const families = host.families.map((f) => f.family)
  const peerSet = peersFromLeases(leases, host.selfName, {backend: host.backend, families, pools: host.pools})
  const states: DesiredState[] = []
  for (const self of host.families) {
    const {desired, refused} = desiredState({config: host.config, self, underlay: host.underlay, nexthops: host.nexthops, peers: peerSet.peers.filter((p) => p.family === self.family)})
    states.push(desired)
    peerSet.rejected.push(...refused)
  }
  const refusedKeys = new Set(peerSet.rejected.filter((r) => r.family).map((r) => `${r.family} ${r.name}`))
  peerSet.peers = peerSet.peers.filter((p) => !refusedKeys.has(`${p.family} ${p.name}`))
  const shared = sharedMacs([...host.families.map((f) => ({name: host.selfName, family: f.family, vtepMac: f.vtepMac})), ...peerSet.peers])
  return {states, peerSet, shared}
}

/** Where each family's actual state is read from. */
export const readTargets = (host: HostView) =>
  host.families.map((self) => ({family: self.family, device: self.deviceName, underlay: host.underlay.name, network: self.network}))
