import {type Cidr, type Family, cidrContains, parseCidr} from '../ip.js'
import {type NetworkConfig, vxlanOf} from '../network-config.js'
import {defaultDeviceName} from './desired.js'
import {parseIptablesSave, planIptablesDown} from './iptables.js'
import type {Kernel, KernelRoute} from './kernel.js'
import type {Operation, RouteEntry} from './model.js'

export interface DownTarget {
  /** The devices to remove (cnet.<VNI> and cnet-v6.<VNI>, or the ones named). */
  devices: string[]
  /** The cluster networks, when known: gatewayed routes into them on other interfaces are direct-routing or host-gw routes. */
  networks: Cidr[]
  /** The families whose iptables chains to remove. */
  families: Family[]
}

export interface DownResult {
  /** The first device (the IPv4 one, unless only IPv6 is run); null when there is none (host-gw). */
  device: string | null
  deviceRemoved: boolean
  devices: {name: string; removed: boolean}[]
  /** Direct-routing and host-gw routes into the cluster network removed from other interfaces. */
  routesRemoved: number
  iptablesRemoved: boolean
}

/**
 * Removes the devices (their neighbours, fdb entries and routes go with them), direct
 * and host-gw routes into the cluster networks, and cnet's iptables chains. Idempotent:
 * what is already gone is skipped, so a second run removes nothing and succeeds.
 */
export async function overlayDown(kernel: Kernel, target: DownTarget): Promise<DownResult> {
  const ops: Operation[] = []
  const existing = new Set(await kernel.linkNames())
  const devices = target.devices.map((name) => ({name, removed: existing.has(name)}))
  for (const d of devices) if (d.removed) ops.push({op: 'device-delete', name: d.name, reason: 'vxlan down'})
  let routesRemoved = 0
  for (const network of target.networks) {
    const direct = directRoutes(await kernel.routes(network.family), network, target.devices)
    for (const route of direct) ops.push({op: 'route-del', route})
    routesRemoved += direct.length
  }
  await kernel.apply(ops)
  let iptablesRemoved = false
  for (const family of target.families) {
    const restore = planIptablesDown(parseIptablesSave(await kernel.iptablesSave(family)))
    if (!restore) continue
    await kernel.iptablesRestore(family, restore)
    iptablesRemoved = true
  }
  return {device: devices[0]?.name ?? null, deviceRemoved: devices[0]?.removed ?? false, devices, routesRemoved, iptablesRemoved}
}

/** Gatewayed routes into the cluster network on any interface but the devices: the ones direct routing and host-gw add. */
export function directRoutes(routes: readonly KernelRoute[], network: Cidr, devices: readonly string[]): RouteEntry[] {
  const full = (dst: string) => (dst.includes('/') ? dst : `${dst}/${network.family === 4 ? 32 : 128}`)
  return routes
    .filter((r) => r.via && r.dev && !devices.includes(r.dev) && r.dst !== 'default' && r.protocol !== 'kernel')
    .filter((r) => {
      const dst = parseCidr(full(r.dst))
      return dst !== undefined && cidrContains(network, dst)
    })
    .map((r) => ({dst: full(r.dst), via: r.via!, dev: r.dev!, onlink: false}))
}

/** What `vxlan down` removes for a network config: both devices of its VNI, its networks' routes, its families' chains. */
export function downTargetOf(config: NetworkConfig): DownTarget {
  const families: Family[] = [...(config.EnableIPv4 ? [4 as const] : []), ...(config.EnableIPv6 ? [6 as const] : [])]
  const vxlan = vxlanOf(config)
  const networks = [config.EnableIPv4 ? config.Network : undefined, config.EnableIPv6 ? config.IPv6Network : undefined].flatMap((n) => (n && parseCidr(n) ? [parseCidr(n)!] : []))
  return {devices: vxlan ? families.map((f) => defaultDeviceName(vxlan.VNI, f)) : [], networks, families}
}
