/**
 * The VXLAN overlay's kernel state as plain data: what should be there (desired),
 * what is there (actual), and the operations between them. No I/O here.
 */

/** The VXLAN device as flannel creates it. */
export interface DeviceSpec {
  name: string
  vni: number
  port: number
  /** The underlay address VXLAN packets leave from (the lease's PublicIP). */
  local: string
  /** The underlay interface. */
  underlay: string
  mac: string
  mtu: number
}

/** A permanent neighbour entry on the device: the peer's `<subnet>.0` -> its VTEP MAC. */
export interface NeighEntry {
  ip: string
  mac: string
}

/** A `self permanent` fdb entry: the peer's VTEP MAC -> its public IP. */
export interface FdbEntry {
  mac: string
  dst: string
}

/** A route to a peer's subnet: via its `<subnet>.0` onlink on the device, or (direct routing) via its public IP on the underlay. */
export interface RouteEntry {
  dst: string
  via: string
  dev: string
  onlink: boolean
}

export interface DesiredState {
  device: DeviceSpec
  /** `<subnet>.0/32` */
  address: string
  neighs: NeighEntry[]
  fdbs: FdbEntry[]
  routes: RouteEntry[]
}

export interface ActualDevice {
  name: string
  vni?: number
  port?: number
  local?: string
  underlay?: string
  mac?: string
  mtu?: number
  up: boolean
  /** Whether the link is a VXLAN device at all. */
  isVxlan: boolean
}

export interface ActualState {
  device?: ActualDevice
  /** IPv4 addresses on the device, as `a.b.c.d/len`. */
  addresses: string[]
  neighs: NeighEntry[]
  fdbs: FdbEntry[]
  /** Routes on the device, plus routes on the underlay into the cluster network (direct routing). */
  routes: RouteEntry[]
}

export type Operation =
  | {op: 'device-create'; device: DeviceSpec; reason: string}
  | {op: 'device-delete'; name: string; reason: string}
  | {op: 'device-set'; name: string; mac?: string; mtu?: number; reason: string}
  | {op: 'device-up'; name: string}
  | {op: 'address-add'; dev: string; address: string}
  | {op: 'address-del'; dev: string; address: string}
  | {op: 'neigh-replace'; dev: string; ip: string; mac: string}
  | {op: 'neigh-del'; dev: string; ip: string}
  | {op: 'fdb-replace'; dev: string; mac: string; dst: string}
  | {op: 'fdb-del'; dev: string; mac: string; dst: string}
  | {op: 'route-replace'; route: RouteEntry}
  | {op: 'route-del'; route: RouteEntry}

export type OperationKind = Operation['op']
