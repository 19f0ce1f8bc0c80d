import {hostname} from 'node:os'
import {ConflictError} from '../lib/errors.js'
import type {Keys} from '../store/keys.js'
import type {KeptLease, KeptLeaseHandlers, Store} from '../store/store.js'
import {formatCidr} from './ip.js'
import {type LeaseAttrs, type LeaseSubnets, formatLeaseAttrs, formatLeaseName} from './lease.js'
import {overlayMtu, subnetPools} from './network-config.js'
import {readNetworkConfig} from './network-store.js'
import {type ExistingLease, chooseSubnet, mustYield} from './subnet-allocate.js'
import {formatSubnetEnv, subnetsInFile} from './subnet-env.js'
import {listLeases} from './subnet-listing.js'
import {keptOrNewVtepMac, saveVtepMac} from './vtep-mac.js'
import {type HostAddress, resolvePublicIpv6} from './host-address.js'
import {writeFileAtomic} from '../lib/atomic-file.js'

export interface AcquireOptions {
  host: HostAddress
  subnetFile: string
  ttlSeconds: number
  ipMasq: boolean
  handlers?: KeptLeaseHandlers
}

export interface SubnetLeaseResult {
  subnet: string
  ipv6Subnet?: string
  publicIp: string
  /** With IPv6 enabled: PublicIPv6 as written (null when this host has none). */
  publicIpv6?: string | null
  vtepMac: string
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
  const previous = subnetsInFile(options.subnetFile)
  const hostName = hostname()
  // flannel fills PublicIPv6 only when the config enables IPv6.
  const publicIpv6 = pools.some((p) => p.family === 6) ? ((await resolvePublicIpv6(options.host.ipv6)) ?? null) : null
  // In memory until a lease holds it: a failed acquisition writes nothing to disk.
  const ownMac = keptOrNewVtepMac(options.subnetFile)
  let kept: KeptLease | undefined
  try {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const leases = (await listLeases(store, keys)).flatMap((l) => (l.subnets ? [l as ExistingLease] : []))
      const choice = chooseSubnet({pools, leases, publicIp: options.host.publicIp, previous})
      const subnets = choice.kind === 'reuse' ? choice.lease.subnets : choice.subnets
      const mac = choice.kind === 'reuse' && choice.lease.attrs?.BackendData ? choice.lease.attrs.BackendData.VtepMAC : ownMac
      const attrs: LeaseAttrs = {PublicIP: options.host.publicIp, PublicIPv6: publicIpv6, BackendType: 'vxlan', BackendData: {VNI: config.Backend.VNI, VtepMAC: mac}, HostName: hostName}
      if (subnets.v6) attrs.BackendV6Data = {VNI: config.Backend.VNI, VtepMAC: mac}
      const key = keys.subnet(formatLeaseName(subnets))
      const value = formatLeaseAttrs(attrs)
      let written: boolean
      if (choice.kind === 'reuse' && choice.lease.reserved) {
        // A reservation stays permanent: refresh its value, attach no lease.
        written = await store.compareAndSwap(key, value, choice.lease.modRevision)
      } else {
        kept ??= await store.keepLease(options.ttlSeconds, options.handlers)
        if (choice.kind === 'reuse') {
          // Guarded like a created key: after a lost etcd lease it is taken back only if
          // nobody took it meanwhile.
          written = await kept.compareAndSwap(key, value, choice.lease.modRevision)
        } else {
          written = await kept.create(key, value)
          if (written && subnets.v6 && (await lostDualStackRace(store, keys, key, subnets))) {
            kept.forget(key)
            await store.delete(key)
            written = false
          }
        }
      }
      if (!written) continue
      saveVtepMac(options.subnetFile, mac)
      writeFileAtomic(
        options.subnetFile,
        formatSubnetEnv({
          network: pools.find((p) => p.family === 4)?.network,
          subnet: subnets.v4,
          ipv6Network: pools.find((p) => p.family === 6)?.network,
          ipv6Subnet: subnets.v6,
          mtu: overlayMtu(config.Backend, options.host.mtu),
          ipMasq: options.ipMasq,
        }),
      )
      const reserved = choice.kind === 'reuse' && choice.lease.reserved
      if (reserved) await kept?.stop({revoke: true})
      return {
        result: {
          subnet: subnets.v4 ? formatCidr(subnets.v4) : '',
          ipv6Subnet: subnets.v6 ? formatCidr(subnets.v6) : undefined,
          publicIp: options.host.publicIp,
          publicIpv6: subnets.v6 ? publicIpv6 : undefined,
          vtepMac: mac,
          hostName,
          key,
          ttlSeconds: reserved ? null : options.ttlSeconds,
          action: choice.kind === 'reuse' ? 'reused' : 'created',
          subnetFile: options.subnetFile,
        },
        lease: reserved ? undefined : kept,
      }
    }
  } catch (error) {
    await kept?.stop({revoke: true}).catch(() => {})
    throw error
  }
  await kept?.stop({revoke: true}).catch(() => {})
  throw new ConflictError(`subnet: lost the race for a subnet ${MAX_ATTEMPTS} times`, 'run the command again')
}

/** After creating a dual-stack key: whether an older lease shares one of its subnets (then ours goes). */
async function lostDualStackRace(store: Store, keys: Keys, key: string, subnets: LeaseSubnets): Promise<boolean> {
  const leases = await listLeases(store, keys)
  const own = leases.find((l) => l.key === key)
  if (!own) return true
  const others = leases.flatMap((l) => (l.subnets ? [{...l, subnets: l.subnets}] : []))
  return mustYield({key, subnets, createRevision: own.createRevision}, others)
}
