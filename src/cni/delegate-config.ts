import {join} from 'node:path'
import {type Cidr, addressAt, formatCidr, formatIp} from '../net/ip.js'
import type {SubnetEnv} from '../net/subnet-env.js'
import type {CnetNetConf, JsonObject} from './netconf.js'
import {CniCode, CniError} from './spec.js'

/**
 * Renders the config cnet hands the reference `bridge` plugin, the way flannel's plugin
 * does: this host's subnet as the host-local range, the bridge as the pods' gateway, the
 * MTU of the overlay, and masquerading only when the host does not already do it.
 * Keys in the user's `delegate` win over these defaults. Pure.
 */

/** host-local keeps its allocations here; `_` cannot start a container ID, so no saved config collides. */
export const IPAM_DIR = '_ipam'

/** The bridge's address is the subnet's first one, as in subnet.env's FLANNEL_SUBNET. */
export function gatewayOf(subnet: Cidr): string {
  return formatIp(addressAt(subnet, 1n))
}

function defaultIpam(conf: CnetNetConf, env: SubnetEnv): JsonObject {
  const ranges: JsonObject[][] = []
  const routes: JsonObject[] = []
  const family = (network: Cidr | undefined, subnet: Cidr | undefined) => {
    if (!network || !subnet) return
    ranges.push([{subnet: formatCidr(subnet)}])
    // The route carries a gateway: bridge 1.1.1's CHECK cannot match one without.
    routes.push({dst: formatCidr(network), gw: gatewayOf(subnet)})
  }
  family(env.network, env.subnet)
  family(env.ipv6Network, env.ipv6Subnet)
  return {type: 'host-local', ranges, routes, dataDir: join(conf.dataDir, IPAM_DIR)}
}

export function renderDelegate(conf: CnetNetConf, env: SubnetEnv): JsonObject {
  if (!env.subnet && !env.ipv6Subnet) throw new CniError(CniCode.subnetEnv, `${conf.subnetFile} holds no subnet (run cnet subnet lease on this host)`)
  const type = typeof conf.delegate.type === 'string' ? conf.delegate.type : 'bridge'
  const bridgeDefaults: JsonObject = type === 'bridge' ? {bridge: conf.bridge, isGateway: true, isDefaultGateway: true, hairpinMode: true} : {}
  const userIpam = (conf.delegate.ipam ?? {}) as JsonObject
  return {
    ...bridgeDefaults,
    // If the host masquerades already (FLANNEL_IPMASQ=true), the bridge must not do it twice.
    ipMasq: !env.ipMasq,
    mtu: env.mtu,
    ...conf.delegate,
    type,
    ipam: {...defaultIpam(conf, env), ...userIpam},
    // The network's identity is not the user's to override: host-local keys its files by name.
    cniVersion: conf.cniVersion,
    name: conf.name,
  }
}

/**
 * What the delegate gets for CHECK and DEL: the config saved at ADD, in the version the
 * runtime speaks now, with the chain's previous result when the runtime sent one.
 */
export function replayDelegate(saved: JsonObject, conf: CnetNetConf): JsonObject {
  const {prevResult: _stale, ...rest} = saved
  return {...rest, cniVersion: conf.cniVersion, ...(conf.prevResult ? {prevResult: conf.prevResult} : {})}
}
