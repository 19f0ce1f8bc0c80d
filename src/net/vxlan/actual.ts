import {type Cidr, cidrContains, parseCidr} from '../ip.js'
import type {ActualDevice, ActualState, FdbEntry, NeighEntry, RouteEntry} from './model.js'

/**
 * Turns the JSON that `ip -j` and `bridge -j` print into plain data. Pure: the
 * applier runs the commands and hands their output here.
 */
export interface RawActual {
  /** `ip -j -d addr show dev D`, or undefined when the device does not exist. */
  deviceJson?: string
  /** `ip -j neigh show dev D` */
  neighJson?: string
  /** `bridge -j fdb show dev D` */
  fdbJson?: string
  /** `ip -j route show dev D` */
  deviceRoutesJson?: string
  /** `ip -j route show dev U` (the underlay), for direct-routing routes. */
  underlayRoutesJson?: string
}

type Json = Record<string, unknown>

function parseArray(text: string | undefined, what: string): Json[] {
  if (text === undefined || text.trim() === '') return []
  const parsed: unknown = JSON.parse(text)
  if (!Array.isArray(parsed)) throw new Error(`vxlan: ${what} output is not a JSON array`)
  return parsed as Json[]
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)

export function parseDevice(json: string | undefined): {device?: ActualDevice; addresses: string[]} {
  const [link] = parseArray(json, 'ip link')
  if (!link) return {addresses: []}
  const info = (link.linkinfo ?? {}) as Json
  const data = (info.info_data ?? {}) as Json
  const flags = Array.isArray(link.flags) ? (link.flags as string[]) : []
  const device: ActualDevice = {
    name: str(link.ifname) ?? '',
    isVxlan: info.info_kind === 'vxlan',
    vni: num(data.id),
    port: num(data.port),
    local: str(data.local),
    underlay: str(data.link),
    mac: str(link.address)?.toLowerCase(),
    mtu: num(link.mtu),
    up: flags.includes('UP'),
  }
  const addrInfo = Array.isArray(link.addr_info) ? (link.addr_info as Json[]) : []
  const addresses = addrInfo.filter((a) => a.family === 'inet').map((a) => `${str(a.local)}/${num(a.prefixlen)}`)
  return {device, addresses}
}

/** Permanent IPv4 neighbours only: dynamic entries come and go with traffic. */
export function parseNeighs(json: string | undefined): NeighEntry[] {
  return parseArray(json, 'ip neigh')
    .filter((n) => typeof n.dst === 'string' && !(n.dst as string).includes(':') && typeof n.lladdr === 'string')
    .filter((n) => Array.isArray(n.state) && (n.state as string[]).includes('PERMANENT'))
    .map((n) => ({ip: n.dst as string, mac: (n.lladdr as string).toLowerCase()}))
}

/** The `self` entries with a remote destination: the ones cnet (or flannel) writes. */
export function parseFdbs(json: string | undefined): FdbEntry[] {
  return parseArray(json, 'bridge fdb')
    .filter((f) => typeof f.mac === 'string' && typeof f.dst === 'string')
    .filter((f) => Array.isArray(f.flags) && (f.flags as string[]).includes('self'))
    .map((f) => ({mac: (f.mac as string).toLowerCase(), dst: f.dst as string}))
}

const withLength = (dst: string) => (dst.includes('/') ? dst : `${dst}/32`)

function parseRoutes(json: string | undefined, dev: string): {route: RouteEntry; raw: Json}[] {
  return parseArray(json, 'ip route')
    .filter((r) => typeof r.dst === 'string' && r.dst !== 'default' && r.protocol !== 'kernel')
    .map((r) => ({
      route: {dst: withLength(r.dst as string), via: str(r.gateway) ?? '', dev, onlink: Array.isArray(r.flags) && (r.flags as string[]).includes('onlink')},
      raw: r,
    }))
}

/** Reads every route on the device, and the underlay's gatewayed routes into the cluster network. */
export function parseActual(raw: RawActual, names: {device: string; underlay: string}, network: Cidr): ActualState {
  const {device, addresses} = parseDevice(raw.deviceJson)
  const routes = device ? parseRoutes(raw.deviceRoutesJson, names.device).map((r) => r.route) : []
  for (const {route} of parseRoutes(raw.underlayRoutesJson, names.underlay)) {
    const dst = parseCidr(route.dst)
    if (route.via && dst && cidrContains(network, dst)) routes.push(route)
  }
  return {
    device,
    addresses,
    neighs: device ? parseNeighs(raw.neighJson) : [],
    fdbs: device ? parseFdbs(raw.fdbJson) : [],
    routes,
  }
}
