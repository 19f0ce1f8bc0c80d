import {mkdirSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {parseCidr} from '../../src/net/ip.js'
import {formatLeaseAttrs, formatLeaseName} from '../../src/net/lease.js'
import {readNetworkConfig} from '../../src/net/network-store.js'
import {formatSubnetEnv} from '../../src/net/subnet-env.js'
import {Keys, openStore} from '../../src/store/index.js'

/**
 * Stands in for `cnet subnet lease` in tests: writes exactly the lease flannel (and
 * cnet) would write, under an etcd lease of one hour, and the host's subnet.env.
 * Every lease a test creates goes through here, so this one function can be
 * swapped for the real command.
 */
export interface LeaseHostOptions {
  endpoint: string
  prefixes: {networkPrefix: string; cnetPrefix: string}
  /** e.g. 10.60.1.0/24 */
  subnet: string
  publicIp: string
  vtepMac: string
  subnetFile: string
  hostName?: string
}

export async function leaseHost(o: LeaseHostOptions): Promise<{key: string; value: string}> {
  const subnet = parseCidr(o.subnet)
  if (!subnet) throw new Error(`leaseHost: ${o.subnet} is not a CIDR`)
  const keys = new Keys(o.prefixes)
  const store = await openStore({endpoints: [o.endpoint]})
  try {
    const config = await readNetworkConfig(store, keys)
    const key = keys.subnet(formatLeaseName({v4: subnet}))
    const value = formatLeaseAttrs({PublicIP: o.publicIp, PublicIPv6: null, BackendType: 'vxlan', BackendData: {VNI: config.Backend.VNI, VtepMAC: o.vtepMac}, HostName: o.hostName})
    const lease = await store.grantLease(3600)
    await store.put(key, value, {lease})
    mkdirSync(dirname(o.subnetFile), {recursive: true})
    writeFileSync(o.subnetFile, formatSubnetEnv({network: parseCidr(config.Network!)!, subnet, mtu: 1450, ipMasq: false}))
    return {key, value}
  } finally {
    await store.close()
  }
}

/** Releases a lease as `cnet subnet release` would: the key goes. */
export async function releaseHost(o: {endpoint: string; prefixes: {networkPrefix: string; cnetPrefix: string}; subnet: string}): Promise<boolean> {
  const keys = new Keys(o.prefixes)
  const store = await openStore({endpoints: [o.endpoint]})
  try {
    return await store.delete(keys.subnet(formatLeaseName({v4: parseCidr(o.subnet)!})))
  } finally {
    await store.close()
  }
}
