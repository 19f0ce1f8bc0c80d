import {SystemCommandError} from '../../lib/errors.js'
import {type Cidr, type Family, cidrContains, parseCidr} from '../ip.js'
import type {ActualDevice, ActualState, FdbEntry, NeighEntry, RouteEntry} from './model.js'

/**
 * Turns the JSON that `ip -j` and `bridge -j` print into plain data. Pure: the kernel
 * seam runs the commands and hands their output here. Output that is not what iproute2
 * prints is a SystemCommandError (exit 6) naming the command, never a crash.
 */
export interface RawActual {
  /** `ip -j -d addr show dev D`, or undefined when the device does not exist. */
  deviceJson?: string
  /** `ip -j neigh show dev D` */
  neighJson?: string
  /** `bridge -j fdb show dev D` */
  fdbJson?: string
  /** `ip [-6] -j route show dev D` */
  deviceRoutesJson?: string
  /** `ip [-6] -j route show dev U` (the underlay), for direct-routing and host-gw routes. */
  underlayRoutesJson?: string
}

type Json = Record<string, unknown>

/** A JSON array from a command's output; `what` names the command for the error. */
export function parseJsonArray(text: string | undefined, what: string): Json[] {
  if (text === undefined || text.trim() === '') return []
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new SystemCommandError(`vxlan: ${what} printed output that is not JSON: ${(error as Error).message}`, 'is iproute2 recent enough for -j (JSON output)?')
  }
  if (!Array.isArray(parsed)) throw new SystemCommandError(`vxlan: ${what} printed JSON that is not an array`)
  return parsed as Json[]
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)
const inFamily = (address: string, family: Family) => address.includes(':') === (family === 6)

export function parseDevice(json: string | undefined, family: Family = 4): {device?: ActualDevice; addresses: string[]} {
  const [link] = parseJsonArray(json, 'ip -j -d addr show')
  if (!link) return {addresses: []}
  const info = (link.linkinfo ?? {}) as Json
  const data = (info.info_data ?? {}) as Json
  const flags = Array.isArray(link.flags) ? (link.flags as string[]) : []
  const device: ActualDevice = {
    name: str(link.ifname) ?? '',
    isVxlan: info.info_kind === 'vxlan',
    vni: num(data.id),
    port: num(data.port),
    local: str(data.local) ?? str(data.local6),
    underlay: str(data.link),
    mac: str(link.address)?.toLowerCase(),
    mtu: num(link.mtu),
    up: flags.includes('UP'),
  }
  const addrInfo = Array.isArray(link.addr_info) ? (link.addr_info as Json[]) : []
  // The kernel gives every device an IPv6 link-local address of its own: not ours to manage.
  const addresses = addrInfo
    .filter((a) => a.family === (family === 4 ? 'inet' : 'inet6') && a.scope !== 'link')
    .map((a) => `${str(a.local)}/${num(a.prefixlen)}`)
  return {device, addresses}
}

/** Permanent neighbours of the family only: dynamic entries come and go with traffic. */
export function parseNeighs(json: string | undefined, family: Family = 4): NeighEntry[] {
  return parseJsonArray(json, 'ip -j neigh show')
    .filter((n) => typeof n.dst === 'string' && inFamily(n.dst, family) && typeof n.lladdr === 'string')
    .filter((n) => Array.isArray(n.state) && (n.state as string[]).includes('PERMANENT'))
    .map((n) => ({ip: n.dst as string, mac: (n.lladdr as string).toLowerCase()}))
}

/** The `self` entries with a remote destination: the ones cnet (or flannel) writes. */
export function parseFdbs(json: string | undefined): FdbEntry[] {
  return parseJsonArray(json, 'bridge -j fdb show')
    .filter((f) => typeof f.mac === 'string' && typeof f.dst === 'string')
    .filter((f) => Array.isArray(f.flags) && (f.flags as string[]).includes('self'))
    .map((f) => ({mac: (f.mac as string).toLowerCase(), dst: f.dst as string}))
}

const withLength = (dst: string, family: Family) => (dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`)

function parseRoutes(json: string | undefined, dev: string, family: Family): RouteEntry[] {
  return parseJsonArray(json, 'ip -j route show')
    .filter((r) => typeof r.dst === 'string' && r.dst !== 'default' && r.protocol !== 'kernel' && inFamily(r.dst, family))
    .map((r) => {
      const route: RouteEntry = {dst: withLength(r.dst as string, family), via: str(r.gateway) ?? '', dev, onlink: Array.isArray(r.flags) && (r.flags as string[]).includes('onlink')}
      // A route through a nexthop object shows its nexthop's gateway and flags inline too.
      if (typeof r.nhid === 'number') route.nhid = r.nhid
      return route
    })
}

/** Reads every route on the device, and the underlay's gatewayed routes into the cluster network. */
export function parseActual(raw: RawActual, names: {device: string; underlay: string}, network: Cidr): ActualState {
  const family = network.family
  const {device, addresses} = parseDevice(raw.deviceJson, family)
  const routes = device ? parseRoutes(raw.deviceRoutesJson, names.device, family) : []
  for (const route of parseRoutes(raw.underlayRoutesJson, names.underlay, family)) {
    const dst = parseCidr(route.dst)
    if (route.via && dst && cidrContains(network, dst)) routes.push(route)
  }
  return {
    device,
    addresses,
    neighs: device ? parseNeighs(raw.neighJson, family) : [],
    fdbs: device ? parseFdbs(raw.fdbJson) : [],
    routes,
  }
}
