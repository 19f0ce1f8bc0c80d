import {existsSync, readFileSync} from 'node:fs'
import {type Cidr, addressAt, formatCidr, ipString, parseCidr} from './ip.js'

/**
 * flannel's subnet.env, exactly: the network, this host's subnet written as its first
 * address (.1) with the subnet's length, the MTU and whether to masquerade.
 *
 *   FLANNEL_NETWORK=10.5.0.0/16
 *   FLANNEL_SUBNET=10.5.52.1/24
 *   FLANNEL_MTU=1450
 *   FLANNEL_IPMASQ=false
 *
 * Dual stack adds FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET. flannel's CNI plugin
 * reads cnet's file and cnet's reads flannel's.
 */
export const DEFAULT_SUBNET_FILE = '/run/cnet/subnet.env'

export interface SubnetEnv {
  network?: Cidr
  /** The leased subnet (network address), not the .1 written in the file. */
  subnet?: Cidr
  ipv6Network?: Cidr
  ipv6Subnet?: Cidr
  mtu: number
  ipMasq: boolean
}

/** The subnet's first address with the subnet's prefix length: 10.5.52.0/24 -> 10.5.52.1/24. */
function firstAddress(subnet: Cidr): string {
  return `${ipString(subnet.family, addressAt(subnet, 1n).value)}/${subnet.prefix}`
}

export function formatSubnetEnv(env: SubnetEnv): string {
  const lines: string[] = []
  if (env.network) lines.push(`FLANNEL_NETWORK=${formatCidr(env.network)}`)
  if (env.subnet) lines.push(`FLANNEL_SUBNET=${firstAddress(env.subnet)}`)
  if (env.ipv6Network) lines.push(`FLANNEL_IPV6_NETWORK=${formatCidr(env.ipv6Network)}`)
  if (env.ipv6Subnet) lines.push(`FLANNEL_IPV6_SUBNET=${firstAddress(env.ipv6Subnet)}`)
  lines.push(`FLANNEL_MTU=${env.mtu}`, `FLANNEL_IPMASQ=${env.ipMasq}`)
  return lines.join('\n') + '\n'
}

export type SubnetEnvParse = {ok: true; env: SubnetEnv} | {ok: false; problem: string}

/** Parses subnet.env as flannel's CNI plugin would; the subnet comes back as its network address. */
export function parseSubnetEnv(text: string): SubnetEnvParse {
  const vars = new Map<string, string>()
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq < 0) return {ok: false, problem: `line "${line}" is not NAME=VALUE`}
    vars.set(line.slice(0, eq), line.slice(eq + 1))
  }
  const cidr = (name: string, required: boolean): Cidr | undefined | string => {
    const value = vars.get(name)
    if (value === undefined) return required ? `${name} is missing` : undefined
    const parsed = parseCidr(value)
    if (!parsed) return `${name}=${value} is not a CIDR`
    return {...parsed, ip: parsed.ip & ~((1n << BigInt((parsed.family === 4 ? 32 : 128) - parsed.prefix)) - 1n)}
  }
  const hasV6 = vars.has('FLANNEL_IPV6_NETWORK') || vars.has('FLANNEL_IPV6_SUBNET')
  const hasV4 = vars.has('FLANNEL_NETWORK') || vars.has('FLANNEL_SUBNET') || !hasV6
  const network = hasV4 ? cidr('FLANNEL_NETWORK', true) : undefined
  const subnet = hasV4 ? cidr('FLANNEL_SUBNET', true) : undefined
  const ipv6Network = hasV6 ? cidr('FLANNEL_IPV6_NETWORK', true) : undefined
  const ipv6Subnet = hasV6 ? cidr('FLANNEL_IPV6_SUBNET', true) : undefined
  for (const value of [network, subnet, ipv6Network, ipv6Subnet]) if (typeof value === 'string') return {ok: false, problem: value}
  const mtuText = vars.get('FLANNEL_MTU')
  if (mtuText === undefined) return {ok: false, problem: 'FLANNEL_MTU is missing'}
  if (!/^\d+$/.test(mtuText)) return {ok: false, problem: `FLANNEL_MTU=${mtuText} is not a number`}
  const masq = vars.get('FLANNEL_IPMASQ')
  if (masq !== 'true' && masq !== 'false') return {ok: false, problem: masq === undefined ? 'FLANNEL_IPMASQ is missing' : `FLANNEL_IPMASQ=${masq} is not true or false`}
  return {
    ok: true,
    env: {
      network: network as Cidr | undefined,
      subnet: subnet as Cidr | undefined,
      ipv6Network: ipv6Network as Cidr | undefined,
      ipv6Subnet: ipv6Subnet as Cidr | undefined,
      mtu: Number(mtuText),
      ipMasq: masq === 'true',
    },
  }
}

/** The subnets a subnet file names, or undefined when it is missing or does not parse. */
export function subnetsInFile(file: string): {v4?: Cidr; v6?: Cidr} | undefined {
  if (!existsSync(file)) return undefined
  const parsed = parseSubnetEnv(readFileSync(file, 'utf8'))
  return parsed.ok ? {v4: parsed.env.subnet, v6: parsed.env.ipv6Subnet} : undefined
}
