import {type Cidr, cidrContains, parseCidr} from '../ip.js'
import {parseIptablesSave, planIptablesDown} from './iptables.js'
import type {KernelRunner} from './apply.js'
import type {Operation, RouteEntry} from './model.js'

export interface DownResult {
  device: string
  deviceRemoved: boolean
  /** Direct-routing routes into the cluster network removed from other interfaces. */
  routesRemoved: number
  iptablesRemoved: boolean
}

/**
 * Removes the device (its neighbours, fdb entries and routes go with it), direct
 * routes into the cluster network, and cnet's iptables chains. Idempotent: what is
 * already gone is skipped, so a second run removes nothing and succeeds.
 */
export async function vxlanDown(runner: KernelRunner, device: string, network: Cidr | undefined): Promise<DownResult> {
  const ops: Operation[] = []
  const existing = JSON.parse((await runner.run('ip', ['-j', 'link', 'show'])) || '[]') as {ifname: string}[]
  const deviceRemoved = existing.some((l) => l.ifname === device)
  if (deviceRemoved) ops.push({op: 'device-delete', name: device, reason: 'vxlan down'})
  const direct = network ? directRoutes(await runner.run('ip', ['-j', 'route', 'show']), network, device) : []
  for (const route of direct) ops.push({op: 'route-del', route})
  await runner.apply(ops)
  const restore = planIptablesDown(parseIptablesSave(await runner.iptablesSave()))
  if (restore) await runner.iptablesRestore(restore)
  return {device, deviceRemoved, routesRemoved: direct.length, iptablesRemoved: restore !== undefined}
}

/** Gatewayed routes into the cluster network on any interface but the device: the ones direct routing adds. */
export function directRoutes(routesJson: string, network: Cidr, device: string): RouteEntry[] {
  const routes = JSON.parse(routesJson || '[]') as {dst: string; gateway?: string; dev?: string; protocol?: string}[]
  return routes
    .filter((r) => r.gateway && r.dev && r.dev !== device && r.dst !== 'default' && r.protocol !== 'kernel')
    .filter((r) => {
      const dst = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`)
      return dst !== undefined && cidrContains(network, dst)
    })
    .map((r) => ({dst: r.dst.includes('/') ? r.dst : `${r.dst}/32`, via: r.gateway!, dev: r.dev!, onlink: false}))
}
