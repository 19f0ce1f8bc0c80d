import {readFileSync} from 'node:fs'
import {ConfigError, UsageError} from '../../lib/errors.js'
import type {Logger} from '../../lib/log.js'
import type {Keys} from '../../store/keys.js'
import type {Store} from '../../store/store.js'
import {type Cidr, formatCidr, parseCidr} from '../ip.js'
import {formatLeaseName, parseLeaseAttrs} from '../lease.js'
import {type NetworkConfig, type SubnetPool, subnetPools} from '../network-config.js'
import {readNetworkConfig} from '../network-store.js'
import {parseSubnetEnv} from '../subnet-env.js'
import type {KernelRunner} from './apply.js'
import {type Underlay, defaultDeviceName, desiredState} from './desired.js'
import type {DesiredState} from './model.js'
import {type PeerSet, peersFromLeases} from './peers.js'

/** What every vxlan operation needs: the store, the keys, a logger and the kernel runner. */
export interface OverlayContext {
  store: Store
  keys: Keys
  logger: Logger
  runner: KernelRunner
}

export interface OverlaySettings {
  subnetFile: string
  iface?: string
  deviceName?: string
  ipMasq: boolean
}

/** This host as the overlay sees it: config, own lease, underlay and device name. */
export interface HostView {
  config: NetworkConfig
  pools: SubnetPool[]
  network: Cidr
  selfName: string
  self: {subnet: Cidr; publicIp: string; vtepMac: string}
  underlay: Underlay
  deviceName: string
}

const LEASE_HINT = 'acquire one first with: cnet subnet lease'

/** The subnets this host leased, from its subnet.env (IPv6 only under dual stack). */
export function readOwnSubnets(subnetFile: string): {v4: Cidr; v6?: Cidr} {
  let text: string
  try {
    text = readFileSync(subnetFile, 'utf8')
  } catch (error) {
    throw new ConfigError(`vxlan: cannot read --subnet-file ${subnetFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, LEASE_HINT)
  }
  const parsed = parseSubnetEnv(text)
  if (!parsed.ok) throw new ConfigError(`vxlan: --subnet-file ${subnetFile} is invalid: ${parsed.problem}`)
  if (!parsed.env.subnet) throw new ConfigError(`vxlan: --subnet-file ${subnetFile} has no FLANNEL_SUBNET`, LEASE_HINT)
  return {v4: parsed.env.subnet, v6: parsed.env.ipv6Subnet}
}

/** Reads config and own lease from etcd and finds the underlay. Changes nothing. */
export async function loadHost(ctx: OverlayContext, settings: OverlaySettings): Promise<HostView> {
  const config = await readNetworkConfig(ctx.store, ctx.keys)
  const network = config.Network ? parseCidr(config.Network) : undefined
  if (!network) throw new ConfigError('vxlan: the network config has no IPv4 Network', 'cnet vxlan programs IPv4 subnets')
  const own = readOwnSubnets(settings.subnetFile)
  const subnet = own.v4
  // a dual-stack lease is one key naming both subnets, as flannel writes it
  const selfName = formatLeaseName(own)
  const stored = await ctx.store.get(ctx.keys.subnet(selfName))
  if (!stored) throw new ConfigError(`vxlan: no lease for ${formatCidr(subnet)} at ${ctx.keys.subnet(selfName)}`, LEASE_HINT)
  const attrs = parseLeaseAttrs(stored.value)
  if (!attrs?.BackendData) throw new ConfigError(`vxlan: the lease at ${ctx.keys.subnet(selfName)} has no vxlan BackendData.VtepMAC`)
  const underlay = await ctx.runner.findUnderlay(settings.iface, attrs.PublicIP)
  if (!underlay) {
    if (settings.iface) throw new UsageError(`--iface: no interface named ${settings.iface}`)
    throw new ConfigError(`vxlan: no interface holds the lease's PublicIP ${attrs.PublicIP}`, 'pass --iface NAME')
  }
  return {
    config,
    pools: subnetPools(config),
    network,
    selfName,
    self: {subnet, publicIp: attrs.PublicIP, vtepMac: attrs.BackendData.VtepMAC},
    underlay,
    deviceName: settings.deviceName ?? defaultDeviceName(config.Backend.VNI),
  }
}

export interface LeaseText {
  name: string
  value: string
}

/** Every lease under the subnets prefix, by name. */
export async function listLeases(ctx: OverlayContext): Promise<{leases: LeaseText[]; revision: number}> {
  const listing = await ctx.store.list(ctx.keys.subnetsPrefix())
  const leases: LeaseText[] = []
  for (const item of listing.items) {
    const name = ctx.keys.subnetNameOf(item.key)
    if (name !== undefined) leases.push({name, value: item.value})
  }
  return {leases, revision: listing.revision}
}

/** The desired kernel state for this host and these leases. Pure. */
export function planFor(host: HostView, leases: readonly LeaseText[]): {desired: DesiredState; peerSet: PeerSet} {
  const peerSet = peersFromLeases(leases, host.selfName, host.pools)
  const desired = desiredState({config: host.config, deviceName: host.deviceName, self: host.self, peers: peerSet.peers, underlay: host.underlay})
  return {desired, peerSet}
}
