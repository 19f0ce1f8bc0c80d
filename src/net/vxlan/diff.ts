import type {ActualState, DesiredState, DeviceSpec, FdbEntry, Operation, RouteEntry} from './model.js'

/**
 * Desired against actual kernel state, to the operations that make actual desired.
 * Pure. The order is the order of application: the device first, then neighbours,
 * fdb entries and routes, removals before additions within each kind, so a route
 * never exists before the neighbour and fdb entry it needs (flannel's order).
 * Nothing that already matches produces an operation: a second run plans nothing.
 */
export function diffState(desired: DesiredState, actual: ActualState): Operation[] {
  const ops: Operation[] = []
  const want = desired.device
  if (!want) {
    // No device (host-gw): only routes on the underlay are ours.
    ops.push(...diffEntries('', desired, {neighs: [], fdbs: [], routes: actual.routes}))
    return ops
  }
  const dev = want.name
  const deviceOps = diffDevice(want, actual)
  ops.push(...deviceOps.ops)
  // A (re)created device starts empty: everything on the old one went with it.
  const start: ActualState = deviceOps.fresh ? {...actual, addresses: [], neighs: [], fdbs: [], routes: actual.routes.filter((r) => r.dev !== dev)} : actual

  if (desired.address && !start.addresses.includes(desired.address)) ops.push({op: 'address-add', dev, address: desired.address})
  for (const address of start.addresses) if (address !== desired.address) ops.push({op: 'address-del', dev, address})

  ops.push(...diffEntries(dev, desired, start))
  return ops
}

/** Where an operation falls in the order of application: the device, its address, neighbours, fdb entries, routes. */
function phaseOf(op: Operation): number {
  switch (op.op) {
    case 'device-create':
    case 'device-delete':
    case 'device-set':
    case 'device-up':
      return 0
    case 'address-add':
    case 'address-del':
      return 1
    case 'neigh-replace':
    case 'neigh-del':
      return 2
    case 'fdb-replace':
    case 'fdb-del':
      return 3
    default:
      return 4
  }
}

/**
 * The operations of several families in one list, in the order of application (every
 * device first, then every neighbour, every fdb entry, every route), each family's own
 * order kept: so IPv4 and IPv6 together still cost one process per phase.
 */
export function mergeByPhase(lists: readonly (readonly Operation[])[]): Operation[] {
  if (lists.length === 1) return [...lists[0]]
  const phases: Operation[][] = [[], [], [], [], []]
  for (const list of lists) for (const op of list) phases[phaseOf(op)].push(op)
  return phases.flat()
}

/**
 * Neighbours, fdb entries and routes only: used by the watch loop between two desired
 * states. Linear in the entries (one key per entry, one map per side): at 10,000 peers
 * this is most of a no-op reconcile's planning.
 */
export function diffEntries(dev: string, desired: Pick<DesiredState, 'neighs' | 'fdbs' | 'routes'>, actual: Pick<ActualState, 'neighs' | 'fdbs' | 'routes'>): Operation[] {
  const ops: Operation[] = []
  const wantNeigh = new Map<string, string>()
  for (const n of desired.neighs) wantNeigh.set(n.ip, n.mac)
  const haveNeigh = new Map<string, string>()
  for (const n of actual.neighs) {
    haveNeigh.set(n.ip, n.mac)
    if (!wantNeigh.has(n.ip)) ops.push({op: 'neigh-del', dev, ip: n.ip})
  }
  for (const n of desired.neighs) if (haveNeigh.get(n.ip) !== n.mac) ops.push({op: 'neigh-replace', dev, ip: n.ip, mac: n.mac})

  // Keyed by MAC and by destination: no key strings built per entry.
  const wantFdb = groupBy(desired.fdbs, (f) => f.mac)
  const haveFdb = groupBy(actual.fdbs, (f) => f.mac)
  const sameFdb = (a: FdbEntry, b: FdbEntry) => a.dst === b.dst
  for (const f of actual.fdbs) if (!wantFdb.get(f.mac)?.some((w) => sameFdb(w, f))) ops.push({op: 'fdb-del', dev, mac: f.mac, dst: f.dst})
  for (const f of desired.fdbs) if (!haveFdb.get(f.mac)?.some((h) => sameFdb(h, f))) ops.push({op: 'fdb-replace', dev, mac: f.mac, dst: f.dst})

  const wantRoute = groupBy(desired.routes, (r) => r.dst)
  const haveRoute = groupBy(actual.routes, (r) => r.dst)
  // A route written with its gateway inline (by flannel or an earlier cnet) is written again through its nexthop where the kernel has them.
  const sameRoute = (a: RouteEntry, b: RouteEntry) => a.via === b.via && a.dev === b.dev && a.onlink === b.onlink && a.nhid === b.nhid
  for (const r of actual.routes) {
    const wanted = wantRoute.get(r.dst)
    // A route whose destination is still wanted on the same device is changed by `replace`, not deleted first.
    if (!wanted?.some((w) => w.dev === r.dev)) ops.push({op: 'route-del', route: r})
  }
  for (const r of desired.routes) if (!haveRoute.get(r.dst)?.some((h) => sameRoute(h, r))) ops.push({op: 'route-replace', route: r})
  return ops
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const k = key(item)
    const group = groups.get(k)
    if (group) group.push(item)
    else groups.set(k, [item])
  }
  return groups
}

function diffDevice(want: DeviceSpec, actual: ActualState): {ops: Operation[]; fresh: boolean} {
  const have = actual.device
  if (!have) return {ops: [{op: 'device-create', device: want, reason: 'missing'}, {op: 'device-up', name: want.name}], fresh: true}
  // VNI, port, local address and underlay cannot be changed on a live VXLAN device.
  const fixed: string[] = []
  if (!have.isVxlan) fixed.push('not a vxlan device')
  if (have.vni !== want.vni) fixed.push(`VNI ${have.vni} -> ${want.vni}`)
  if (have.port !== want.port) fixed.push(`port ${have.port} -> ${want.port}`)
  if (have.local !== want.local) fixed.push(`local ${have.local} -> ${want.local}`)
  if (have.underlay !== want.underlay) fixed.push(`dev ${have.underlay} -> ${want.underlay}`)
  if (fixed.length > 0) {
    const reason = fixed.join(', ')
    return {ops: [{op: 'device-delete', name: want.name, reason}, {op: 'device-create', device: want, reason}, {op: 'device-up', name: want.name}], fresh: true}
  }
  const ops: Operation[] = []
  const set: {mac?: string; mtu?: number} = {}
  const changes: string[] = []
  if (have.mac !== want.mac) {
    set.mac = want.mac
    changes.push(`MAC ${have.mac} -> ${want.mac}`)
  }
  if (have.mtu !== want.mtu) {
    set.mtu = want.mtu
    changes.push(`MTU ${have.mtu} -> ${want.mtu}`)
  }
  if (changes.length > 0) ops.push({op: 'device-set', name: want.name, ...set, reason: changes.join(', ')})
  if (!have.up) ops.push({op: 'device-up', name: want.name})
  return {ops, fresh: false}
}

/** A desired state seen as actual, for diffing two desired states (the watch loop). */
export function asActual(desired: DesiredState): ActualState {
  const d = desired.device
  return {
    device: d ? {name: d.name, isVxlan: true, vni: d.vni, port: d.port, local: d.local, underlay: d.underlay, mac: d.mac, mtu: d.mtu, up: true} : undefined,
    addresses: desired.address ? [desired.address] : [],
    neighs: desired.neighs,
    fdbs: desired.fdbs,
    routes: desired.routes,
  }
}
