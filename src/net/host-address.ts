import {InvalidValueError} from '../lib/errors.js'
import {runCommand} from '../lib/run-command.js'
import {ipString, parseIp} from './ip.js'

/** This host's public IP (the underlay address peers send VXLAN to) and its MTU. */
export interface HostAddress {
  /**
   * Undefined when none was found (no --public-ip, and --iface or the default route has
   * no IPv4 address): fine for an IPv6-only network, else `missingIpv4` is the error.
   */
  publicIp?: string
  missingIpv4?: InvalidValueError
  /** The interface holding it, when it is a local address. */
  iface?: string
  mtu: number
  /**
   * Where this host's public IPv6 address (PublicIPv6, for dual-stack leases) comes
   * from; looked up with resolvePublicIpv6 only when the network config enables IPv6.
   * Absent: the default IPv6 route's interface.
   */
  ipv6?: Ipv6Source
}

/** `--public-ipv6`, else the global IPv6 address of `--iface`, else of the default IPv6 route's interface. */
export type Ipv6Source = {kind: 'flag'; address: string} | {kind: 'iface'; name: string} | {kind: 'default-route'}

interface IpAddrEntry {
  ifname: string
  mtu: number
  addr_info?: {family: string; local: string; scope?: string; dadfailed?: boolean; deprecated?: boolean; temporary?: boolean}[]
}

/** An error with the setting that fixes it, which the CLI names as its flag. */
function withSetting<E extends InvalidValueError>(error: E, setting: string): E {
  error.setting = setting
  return error
}

/** How the commands here are run: the one subprocess runner, or a fake in unit tests. */
export type Run = typeof runCommand

async function interfaces(run: Run): Promise<IpAddrEntry[]> {
  return JSON.parse((await run('ip', ['-j', 'addr', 'show'])).stdout) as IpAddrEntry[]
}

/** Every address held by an interface of this host (both families, canonical form). */
export async function localAddresses(run: Run = runCommand): Promise<string[]> {
  return (await interfaces(run)).flatMap((e) => (e.addr_info ?? []).flatMap((a) => {
    const ip = parseIp(a.local)
    return ip ? [ipString(ip.family, ip.value)] : []
  }))
}

const DEFAULT_MTU = 1500

/** A global unicast IPv6 address, in canonical form; an InvalidValueError naming the field otherwise. */
export function parsePublicIpv6(text: string, field = 'public-ipv6'): string {
  const ip = text.includes('%') ? undefined : parseIp(text)
  if (ip?.family !== 6) throw new InvalidValueError(field, `"${text}" is not an IPv6 address`)
  const top = ip.value >> 112n
  const notGlobal = ip.value === 0n || ip.value === 1n || (top & 0xff00n) === 0xff00n || (top & 0xffc0n) === 0xfe80n || ip.value >> 32n === 0xffffn
  if (notGlobal) throw new InvalidValueError(field, `${text} is not a global unicast IPv6 address`)
  return ipString(6, ip.value)
}

/**
 * The flag, else the first IPv4 address of `--iface`, else the address of the
 * interface of the default route (as flannel picks it). A `--public-ipv6` is checked
 * here too, before anything is read or written. Finding no IPv4 address is not an
 * error here (an IPv6-only network needs none): `missingIpv4` says why, for the caller
 * to throw when the network config wants one.
 */
export async function resolveHostAddress(options: {publicIp?: string; iface?: string; publicIpv6?: string}, run: Run = runCommand): Promise<HostAddress> {
  const ipv6: Ipv6Source =
    options.publicIpv6 !== undefined
      ? {kind: 'flag', address: parsePublicIpv6(options.publicIpv6)}
      : options.iface !== undefined
        ? {kind: 'iface', name: options.iface}
        : {kind: 'default-route'}
  if (options.publicIp !== undefined && parseIp(options.publicIp)?.family !== 4) throw new InvalidValueError('public-ip', `"${options.publicIp}" is not an IPv4 address`)
  const all = await interfaces(run)
  const ipv4Of = (entry: IpAddrEntry) => entry.addr_info?.find((a) => a.family === 'inet')?.local
  if (options.publicIp) {
    const holder = all.find((e) => e.addr_info?.some((a) => a.local === options.publicIp))
    return {publicIp: options.publicIp, iface: holder?.ifname, mtu: holder?.mtu ?? DEFAULT_MTU, ipv6}
  }
  if (options.iface) {
    const entry = all.find((e) => e.ifname === options.iface)
    if (!entry) throw new InvalidValueError('iface', `no interface named "${options.iface}"`, `interfaces here: ${all.map((e) => e.ifname).join(', ')}`)
    const address = ipv4Of(entry)
    if (!address) return {iface: entry.ifname, mtu: entry.mtu, ipv6, missingIpv4: withSetting(new InvalidValueError('iface', `${options.iface} has no IPv4 address`, 'name the public IP instead'), 'public-ip')}
    return {publicIp: address, iface: entry.ifname, mtu: entry.mtu, ipv6}
  }
  const routes = JSON.parse((await run('ip', ['-j', 'route', 'show', 'default'])).stdout) as {dev?: string}[]
  const entry = all.find((e) => e.ifname === routes[0]?.dev)
  const address = entry && ipv4Of(entry)
  if (entry && address) return {publicIp: address, iface: entry.ifname, mtu: entry.mtu, ipv6}
  // No IPv4 default route: the MTU is taken from the IPv6 one's interface, if any.
  const routes6 = JSON.parse((await run('ip', ['-j', '-6', 'route', 'show', 'default'])).stdout) as {dev?: string}[]
  const entry6 = all.find((e) => e.ifname === routes6[0]?.dev)
  return {iface: entry6?.ifname, mtu: entry6?.mtu ?? DEFAULT_MTU, ipv6, missingIpv4: withSetting(new InvalidValueError('public-ip', 'no default route with an IPv4 address to take the public IP from', 'name it, or the interface that holds it'), 'public-ip,iface')}
}

/** An interface's first global IPv6 address (stable ones before temporary or deprecated ones). */
function globalIpv6Of(entry: IpAddrEntry): string | undefined {
  const usable = (entry.addr_info ?? []).filter((a) => a.family === 'inet6' && a.scope === 'global' && !a.dadfailed)
  const best = usable.find((a) => !a.temporary && !a.deprecated) ?? usable[0]
  return best && ipString(6, parseIp(best.local)!.value)
}

/**
 * This host's PublicIPv6 for a dual-stack lease. An `--iface` without a global IPv6
 * address is a usage error (flannel refuses it too); with no `--iface` and no default
 * IPv6 route carrying one, there is none (undefined) and the lease says null.
 */
export async function resolvePublicIpv6(source: Ipv6Source = {kind: 'default-route'}, run: Run = runCommand): Promise<string | undefined> {
  if (source.kind === 'flag') return source.address
  const all = await interfaces(run)
  if (source.kind === 'iface') {
    const entry = all.find((e) => e.ifname === source.name)
    const address = entry && globalIpv6Of(entry)
    if (!address) throw withSetting(new InvalidValueError('iface', `${source.name} has no global IPv6 address, which the network config (IPv6 enabled) needs for PublicIPv6`, 'name the public IPv6 address'), 'public-ipv6')
    return address
  }
  const routes = JSON.parse((await run('ip', ['-j', '-6', 'route', 'show', 'default'])).stdout) as {dev?: string}[]
  for (const route of routes) {
    const entry = all.find((e) => e.ifname === route.dev)
    const address = entry && globalIpv6Of(entry)
    if (address) return address
  }
  return undefined
}
