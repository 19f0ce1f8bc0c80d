import {hostname} from 'node:os'
import {ConflictError} from '../lib/errors.js'
import type {Logger} from '../lib/log.js'
import type {Keys} from '../store/keys.js'
import type {KeptLease, KeptLeaseHandlers, Store} from '../store/store.js'
import {type Family, formatCidr} from './ip.js'
import {type LeaseAttrs, type LeaseSubnets, formatLeaseAttrs, formatLeaseName} from './lease.js'
import {type NetworkConfig, podMtu, subnetPools, vxlanOf} from './network-config.js'
import {readNetworkConfig} from './network-store.js'
import {type ExistingLease, chooseSubnet, mustYield} from './subnet-allocate.js'
import {formatSubnetEnv, subnetsInFile} from './subnet-env.js'
import {type ListedLease, listLeases} from './subnet-listing.js'
import {type KeptMac, keptOrNewVtepMac, randomVtepMac, saveVtepMac} from './vtep-mac.js'
import {type HostAddress, resolvePublicIpv6} from './host-address.js'
import {writeFileAtomic} from '../lib/atomic-file.js'

export interface AcquireOptions {
  host: HostAddress
  subnetFile: string
  ttlSeconds: number
  ipMasq: boolean
  handlers?: KeptLeaseHandlers
  /** Told about a VTEP MAC replaced because another live lease holds it. */
  logger?: Logger
}

export interface SubnetLeaseResult {
  subnet: string
  ipv6Subnet?: string
  /** 0.0.0.0 under an IPv6-only config, as flannel writes it. */
  publicIp: string
  /** With IPv6 enabled: PublicIPv6 as written (null when this host has none). */
  publicIpv6?: string | null
  backend: string
  /** The IPv4 device's MAC (BackendData.VtepMAC); null under host-gw or IPv6 only. */
  vtepMac: string | null
  /** With IPv6 enabled, vxlan: the IPv6 device's MAC (BackendV6Data.VtepMAC). */
  vtepMacV6?: string
  hostName: string
  key: string
  /** null for a reservation (no expiry). */
  ttlSeconds: number | null
  action: 'reused' | 'created'
  subnetFile: string
}

export interface Acquired {
  result: SubnetLeaseResult
  /** The kept etcd lease (undefined for a reservation): stop it, or keep it running. */
  lease?: KeptLease
}

const MAX_ATTEMPTS = 10

/**
 * Acquires (or takes back) this host's subnet: decides with chooseSubnet, creates the
 * key only if absent under a kept etcd lease, retries a bounded number of times when
 * another host won the race, and writes subnet.env atomically.
 */
export async function acquireSubnet(store: Store, keys: Keys, options: AcquireOptions): Promise<Acquired> {
  const config = await readNetworkConfig(store, keys)
  const pools = subnetPools(config)
  const hasV4 = pools.some((p) => p.family === 4)
  const hasV6 = pools.some((p) => p.family === 6)
  if (hasV4 && options.host.publicIp === undefined) throw options.host.missingIpv4 ?? new ConflictError('subnet: no public IPv4 address for this host')
  // flannel writes PublicIP 0.0.0.0 for an IPv6-only network.
  const publicIp = hasV4 ? options.host.publicIp! : '0.0.0.0'
  const previous = subnetsInFile(options.subnetFile)
  const hostName = hostname()
  // flannel fills PublicIPv6 only when the config enables IPv6.
  const publicIpv6 = hasV6 ? ((await resolvePublicIpv6(options.host.ipv6)) ?? null) : null
  if (!hasV4 && publicIpv6 === null) throw new ConflictError('subnet: the network is IPv6 only and this host has no global IPv6 address for PublicIPv6', 'name the public IPv6 address, or the interface that holds it', 'public-ipv6,iface')
  const vxlan = vxlanOf(config)
  // In memory until a lease holds them: a failed acquisition writes nothing to disk.
  const kept: Record<Family, KeptMac | undefined> = {
    4: vxlan && hasV4 ? keptOrNewVtepMac(options.subnetFile, 4) : undefined,
    6: vxlan && hasV6 ? keptOrNewVtepMac(options.subnetFile, 6) : undefined,
  }
  let lease: KeptLease | undefined
  try {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const listed = await listLeases(store, keys)
      const leases = listed.flatMap((l) => (l.subnets ? [l as ExistingLease] : []))
      const choice = chooseSubnet({pools, leases, publicIp, publicIpv6, previous})
      const subnets = choice.kind === 'reuse' ? choice.lease.subnets : choice.subnets
      const key = keys.subnet(formatLeaseName(subnets))
      const attrs: LeaseAttrs = {PublicIP: publicIp, PublicIPv6: publicIpv6, BackendType: config.Backend.Type}
      const macs: Record<Family, string | undefined> = {4: undefined, 6: undefined}
      if (vxlan) {
        for (const family of [4, 6] as const) {
          const own = kept[family]
          if (!own) continue
          const fromLease = choice.kind === 'reuse' ? (family === 4 ? choice.lease.attrs?.BackendData : choice.lease.attrs?.BackendV6Data)?.VtepMAC : undefined
          macs[family] = uniqueMac(fromLease ?? own.mac, family, key, listed, options.logger)
        }
        if (macs[4]) attrs.BackendData = {VNI: vxlan.VNI, VtepMAC: macs[4]}
        if (macs[6]) attrs.BackendV6Data = {VNI: vxlan.VNI, VtepMAC: macs[6]}
      }
      attrs.HostName = hostName
      const value = formatLeaseAttrs(attrs)
      let written: boolean
      if (choice.kind === 'reuse' && choice.lease.reserved) {
        // A reservation stays permanent: refresh its value, attach no lease.
        written = await store.compareAndSwap(key, value, choice.lease.modRevision)
      } else {
        lease ??= await store.keepLease(options.ttlSeconds, options.handlers)
        if (choice.kind === 'reuse') {
          // Guarded like a created key: after a lost etcd lease it is taken back only if
          // nobody took it meanwhile.
          written = await lease.compareAndSwap(key, value, choice.lease.modRevision)
        } else {
          written = await lease.create(key, value)
          if (written && subnets.v6 && subnets.v4 && (await lostDualStackRace(store, keys, key, subnets))) {
            lease.forget(key)
            await store.delete(key)
            written = false
          }
        }
      }
      if (!written) continue
      for (const family of [4, 6] as const) if (macs[family]) saveVtepMac(options.subnetFile, macs[family]!, family, kept[family]?.source === 'legacy')
      writeSubnetFile(options, config, subnets)
      const reserved = choice.kind === 'reuse' && choice.lease.reserved
      if (reserved) await lease?.stop({revoke: true})
      const result: SubnetLeaseResult = {
        // IPv6 only: the IPv6 subnet is the subnet (as `subnet reserve` reports it).
        subnet: formatCidr(subnets.v4 ?? subnets.v6!),
        ipv6Subnet: subnets.v4 && subnets.v6 ? formatCidr(subnets.v6) : undefined,
        publicIp,
        publicIpv6: subnets.v6 ? publicIpv6 : undefined,
        backend: config.Backend.Type,
        vtepMac: macs[4] ?? null,
        vtepMacV6: macs[6],
        hostName,
        key,
        ttlSeconds: reserved ? null : options.ttlSeconds,
        action: choice.kind === 'reuse' ? 'reused' : 'created',
        subnetFile: options.subnetFile,
      }
      return {result, lease: reserved ? undefined : lease}
    }
  } catch (error) {
    await lease?.stop({revoke: true}).catch(() => {})
    throw error
  }
  await lease?.stop({revoke: true}).catch(() => {})
  throw new ConflictError(`subnet: lost the race for a subnet ${MAX_ATTEMPTS} times`, 'run the command again')
}

/**
 * A VTEP MAC no other live lease gives for the same family: two hosts with one MAC get
 * one fdb entry between them on every peer, and one of the two silently receives
 * nothing. One that is taken is replaced by a new random one, with a warning.
 */
function uniqueMac(mac: string, family: Family, key: string, leases: readonly ListedLease[], logger: Logger | undefined): string {
  const macOf = (l: ListedLease) => (family === 4 ? l.attrs?.BackendData : l.attrs?.BackendV6Data)?.VtepMAC
  const holders = leases.filter((l) => l.key !== key && macOf(l) === mac)
  if (holders.length === 0) return mac
  const fresh = randomVtepMac()
  logger?.warn('VTEP MAC already held by another lease; using a new one', {family: `IPv${family}`, mac, heldBy: holders.map((l) => l.name), newMac: fresh})
  return fresh
}

function writeSubnetFile(options: AcquireOptions, config: NetworkConfig, subnets: LeaseSubnets): void {
  const pools = subnetPools(config)
  writeFileAtomic(
    options.subnetFile,
    formatSubnetEnv({
      network: pools.find((p) => p.family === 4)?.network,
      subnet: subnets.v4,
      ipv6Network: pools.find((p) => p.family === 6)?.network,
      ipv6Subnet: subnets.v6,
      mtu: podMtu(config, options.host.mtu),
      ipMasq: options.ipMasq,
    }),
  )
}

/** After creating a dual-stack key: whether an older lease shares one of its subnets (then ours goes). */
async function lostDualStackRace(store: Store, keys: Keys, key: string, subnets: LeaseSubnets): Promise<boolean> {
  const leases = await listLeases(store, keys)
  const own = leases.find((l) => l.key === key)
  if (!own) return true
  const others = leases.flatMap((l) => (l.subnets ? [{...l, subnets: l.subnets}] : []))
  return mustYield({key, subnets, createRevision: own.createRevision}, others)
}
