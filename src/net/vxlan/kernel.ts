import type {Cidr, Family} from '../ip.js'
import type {ActualState, Operation} from './model.js'

/**
 * Everything the overlay asks of the kernel, and nothing else: the seam between the
 * planners (pure) and ip/bridge/iptables. The real one (IpKernel) runs every command
 * through the one subprocess runner, with a timeout; unit tests pass a recording fake
 * (test/helpers/recording-kernel.ts).
 */
export interface Kernel {
  /** One family's device (if it exists), its entries, and the underlay's gatewayed routes into `network`. */
  readActual(target: ReadTarget): Promise<ActualState>
  /** Whether the kernel has nexthop objects: IPv4 overlay routes then go through one (batch.ts, nexthopIdOf). */
  nexthops(): Promise<boolean>
  /** Applies operations in order (a handful of batch processes, however many there are). */
  apply(ops: readonly Operation[]): Promise<void>
  /** The underlay: the named interface, else the one holding `address`; undefined when there is none. */
  findUnderlay(query: {iface?: string; address: string}): Promise<UnderlayLink | undefined>
  /** Names of every link. */
  linkNames(): Promise<string[]>
  /** Every route of the family in the main table. */
  routes(family: Family): Promise<KernelRoute[]>
  /** `iptables-save` / `ip6tables-save` output. */
  iptablesSave(family: Family): Promise<string>
  /** `iptables-restore --noflush` / `ip6tables-restore --noflush` of `text`. */
  iptablesRestore(family: Family, text: string): Promise<void>
}

export interface ReadTarget {
  family: Family
  /** The VXLAN device; undefined for a backend without one (host-gw). */
  device?: string
  underlay: string
  /** The cluster network of the family: gatewayed underlay routes inside it are ours. */
  network: Cidr
}

/** An interface as `ip -j addr show` lists it. */
export interface UnderlayLink {
  name: string
  mtu: number
  /** Its global addresses with their prefix lengths, both families. */
  addresses: {family: Family; address: string; prefix: number}[]
}

export interface KernelRoute {
  dst: string
  via?: string
  dev?: string
  protocol?: string
}
