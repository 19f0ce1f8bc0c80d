import {UsageError} from '../lib/errors.js'
import {runCommand} from '../lib/run-command.js'
import {parseIp} from './ip.js'

/** This host's public IP (the underlay address peers send VXLAN to) and its MTU. */
export interface HostAddress {
  publicIp: string
  /** The interface holding it, when it is a local address. */
  iface?: string
  mtu: number
}

interface IpAddrEntry {
  ifname: string
  mtu: number
  addr_info?: {family: string; local: string}[]
}

async function interfaces(): Promise<IpAddrEntry[]> {
  return JSON.parse((await runCommand('ip', ['-j', 'addr', 'show'])).stdout) as IpAddrEntry[]
}

const DEFAULT_MTU = 1500

/**
 * The flag, else the first IPv4 address of `--iface`, else the address of the
 * interface of the default route (as flannel picks it).
 */
export async function resolveHostAddress(options: {publicIp?: string; iface?: string}): Promise<HostAddress> {
  const all = await interfaces()
  const ipv4Of = (entry: IpAddrEntry) => entry.addr_info?.find((a) => a.family === 'inet')?.local
  if (options.publicIp) {
    if (parseIp(options.publicIp)?.family !== 4) throw new UsageError(`--public-ip: "${options.publicIp}" is not an IPv4 address`)
    const holder = all.find((e) => e.addr_info?.some((a) => a.local === options.publicIp))
    return {publicIp: options.publicIp, iface: holder?.ifname, mtu: holder?.mtu ?? DEFAULT_MTU}
  }
  if (options.iface) {
    const entry = all.find((e) => e.ifname === options.iface)
    if (!entry) throw new UsageError(`--iface: no interface named "${options.iface}"`, `interfaces here: ${all.map((e) => e.ifname).join(', ')}`)
    const address = ipv4Of(entry)
    if (!address) throw new UsageError(`--iface: ${options.iface} has no IPv4 address`, 'give --public-ip instead')
    return {publicIp: address, iface: entry.ifname, mtu: entry.mtu}
  }
  const routes = JSON.parse((await runCommand('ip', ['-j', 'route', 'show', 'default'])).stdout) as {dev?: string}[]
  const entry = all.find((e) => e.ifname === routes[0]?.dev)
  const address = entry && ipv4Of(entry)
  if (!entry || !address) throw new UsageError('no default route with an IPv4 address to take the public IP from', 'give --public-ip or --iface')
  return {publicIp: address, iface: entry.ifname, mtu: entry.mtu}
}
