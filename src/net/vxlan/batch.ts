import {ipv4Value} from '../ip.js'
import type {Operation, RouteEntry} from './model.js'

/**
 * Operations to `ip -batch -` and `bridge -batch -` input. Pure. The applier runs
 * the phases in order, so neighbours go in before fdb entries and fdb entries
 * before routes, each phase one process however many peers there are.
 */
export interface BatchPhase {
  tool: 'ip' | 'bridge'
  lines: string[]
}

/**
 * The id of the nexthop object an overlay route goes through where the kernel has them:
 * the gateway's IPv4 address as a number, so each peer's is fixed, the same on every
 * host and kept nowhere. Undefined for a route that keeps its gateway inline: IPv6 and
 * underlay routes (direct routing, host-gw).
 *
 * Why: the kernel shares a route's gateway data between routes through a hash that
 * leaves the gateway out, so 10,000 routes on one device, each with its own gateway,
 * land in one bucket and each insert walks all before it (perf: 70% of the time in
 * fib_create_info and its memcmp), holding the rtnl lock every other network change on
 * the host waits for. Through one `ip -batch`, 10,000 routes took 1.8 s inline and 0.7 s
 * through nexthop objects (medians of five runs: 1.3-1.9 s and 0.6-0.8 s).
 */
export function nexthopIdOf(route: Pick<RouteEntry, 'via' | 'onlink'>): number | undefined {
  if (!route.onlink) return undefined
  const value = ipv4Value(route.via)
  return value === undefined || value === 0 ? undefined : value
}

/** The `ip` lines of one operation (two for a route through a nexthop object); empty for a `bridge` one. */
export function ipLines(op: Operation): string[] {
  if (op.op === 'route-replace' && op.route.nhid !== undefined) {
    const {dst, via, dev, nhid} = op.route
    return [`nexthop replace id ${nhid} via ${via} dev ${dev}${op.route.onlink ? ' onlink' : ''}`, `route replace ${dst} nhid ${nhid}`]
  }
  if (op.op === 'route-del' && op.route.nhid !== undefined) {
    // A route through a nexthop object matches no delete that names its gateway or device.
    // cnet's own nexthop goes with its one route; another's is left where it is.
    return [op.route.nhid === nexthopIdOf(op.route) ? `nexthop del id ${op.route.nhid}` : `route del ${op.route.dst} nhid ${op.route.nhid}`]
  }
  const line = ipLine(op)
  return line === undefined ? [] : [line]
}

function ipLine(op: Operation): string | undefined {
  switch (op.op) {
    case 'device-create': {
      const d = op.device
      return `link add ${d.name} address ${d.mac} mtu ${d.mtu} type vxlan id ${d.vni} local ${d.local} dev ${d.underlay} dstport ${d.port} nolearning`
    }
    case 'device-delete':
      return `link del ${op.name}`
    case 'device-set':
      return `link set dev ${op.name}${op.mac ? ` address ${op.mac}` : ''}${op.mtu !== undefined ? ` mtu ${op.mtu}` : ''}`
    case 'device-up':
      return `link set dev ${op.name} up`
    case 'address-add':
      // An IPv6 device address is unique by its lease: duplicate address detection would
      // only hold it back (tentative) for a second after every (re)creation.
      return `address add ${op.address} dev ${op.dev}${op.address.includes(':') ? ' nodad' : ''}`
    case 'address-del':
      return `address del ${op.address} dev ${op.dev}`
    case 'neigh-replace':
      return `neigh replace ${op.ip} lladdr ${op.mac} dev ${op.dev} nud permanent`
    case 'neigh-del':
      return `neigh del ${op.ip} dev ${op.dev}`
    case 'route-replace':
      return `route replace ${op.route.dst} via ${op.route.via} dev ${op.route.dev}${op.route.onlink ? ' onlink' : ''}`
    case 'route-del':
      return `route del ${op.route.dst}${op.route.via ? ` via ${op.route.via}` : ''} dev ${op.route.dev}`
    default:
      return undefined
  }
}

export function bridgeLine(op: Operation): string | undefined {
  if (op.op === 'fdb-replace') return `fdb replace ${op.mac} dev ${op.dev} dst ${op.dst} self permanent`
  if (op.op === 'fdb-del') return `fdb del ${op.mac} dev ${op.dev} dst ${op.dst} self`
  return undefined
}

/** Splits operations into consecutive phases by tool, keeping their order. */
export function toBatches(ops: readonly Operation[]): BatchPhase[] {
  const phases: BatchPhase[] = []
  for (const op of ops) {
    const ip = ipLines(op)
    const bridge = ip.length > 0 ? undefined : bridgeLine(op)
    const lines = bridge === undefined ? ip : [bridge]
    if (lines.length === 0) continue
    const tool = bridge === undefined ? 'ip' : 'bridge'
    const last = phases.at(-1)
    if (last && last.tool === tool) last.lines.push(...lines)
    else phases.push({tool, lines})
  }
  return phases
}

/** The text fed to `<tool> -batch -`. */
export const batchText = (phase: BatchPhase): string => phase.lines.join('\n') + '\n'

const onlyNeighbours = (phase: BatchPhase) => phase.tool === 'ip' && phase.lines.every((l) => l.startsWith('neigh '))
const onlyRoutes = (phase: BatchPhase | undefined) => phase?.tool === 'ip' && phase.lines.every((l) => l.startsWith('route ') || l.startsWith('nexthop '))

/**
 * Phases grouped into stages that may run at the same time, so a change costs as few
 * rounds of process starts as its order allows. Routes must follow the neighbours they
 * go through (so the kernel never has to resolve a gateway): a neighbour-only phase and
 * the route-only phase after the fdb phase become one `ip` batch, neighbours first, run
 * beside the fdb phase. An fdb entry that lands a moment after its route only means the
 * first packets of a new peer are dropped, never a wrong entry. After a phase with the
 * device in it, fdb entries and routes still wait for that phase, then run side by side.
 * A watch event's three operations are thus one round of two processes.
 */
export function toStages(phases: readonly BatchPhase[]): BatchPhase[][] {
  const stages: BatchPhase[][] = []
  for (let i = 0; i < phases.length; i++) {
    const phase = phases[i]
    const next = phases[i + 1]
    const after = phases[i + 2]
    if (onlyNeighbours(phase) && next?.tool === 'bridge' && onlyRoutes(after)) {
      stages.push([{tool: 'ip', lines: [...phase.lines, ...after!.lines]}, next])
      i += 2
    } else if (onlyNeighbours(phase) && next?.tool === 'bridge') {
      stages.push([phase, next])
      i++
    } else if (phase.tool === 'bridge' && onlyRoutes(next)) {
      stages.push([phase, next])
      i++
    } else {
      stages.push([phase])
    }
  }
  return stages
}
