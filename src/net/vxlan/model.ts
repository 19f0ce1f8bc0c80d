import type {Family} from '../ip.js'

/**
 * The overlay's kernel state as plain data: what should be there (desired), what is
 * there (actual), and the operations between them. One desired and one actual state
 * per address family: under dual stack IPv4 and IPv6 each have their own VXLAN device
 * (flannel's `flannel.<VNI>` and `flannel-v6.<VNI>`). No I/O here.
 */

/** The VXLAN device as flannel creates it. */
export interface DeviceSpec {
  name: string
  vni: number
  port: number
  /** The underlay address VXLAN packets leave from (the lease's PublicIP, or PublicIPv6 for the IPv6 device). */
  local: string
  /** The underlay interface. */
  underlay: string
  mac: string
  mtu: number
}

/** A permanent neighbour entry on the device: the peer's `<subnet>.0` (or `<subnet>::`) -> its VTEP MAC. */
export interface NeighEntry {
  ip: string
  mac: string
}

/** A `self permanent` fdb entry: the peer's VTEP MAC -> its public IP (IPv4 or IPv6). */
export interface FdbEntry {
  mac: string
  dst: string
}

/**
 * A route to a peer's subnet: via its `<subnet>.0` onlink on the device, or (direct
 * routing, host-gw) via its public IP on the underlay.
 */
export interface RouteEntry {
  dst: string
  via: string
  dev: string
  onlink: boolean
  /**
   * The nexthop object the route goes through: wanted for an IPv4 overlay route where the
   * kernel has them (batch.ts, nexthopIdOf), or as read from the kernel.
   */
  nhid?: number
}

export interface DesiredState {
  family: Family
  /**
   * The VXLAN device; undefined when the backend has none (host-gw), and then a device
   * of that name left over from vxlan is removed.
   */
  device?: DeviceSpec
  /** `<subnet>.0/32` or `<subnet>::/128`, with the device. */
  address?: string
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
  /** The device's addresses of the family, as `address/len` (IPv6 link-local ones left out). */
  addresses: string[]
  neighs: NeighEntry[]
  fdbs: FdbEntry[]
  /** Routes on the device, plus gatewayed routes on the underlay into the cluster network (direct routing, host-gw). */
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

export const emptyActual = (): ActualState => ({addresses: [], neighs: [], fdbs: [], routes: []})
