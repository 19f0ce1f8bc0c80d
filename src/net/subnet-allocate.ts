import {ConflictError} from '../lib/errors.js'
import {type Cidr, bitsOf, cidrsOverlap, ipString} from './ip.js'
import type {LeaseAttrs, LeaseSubnets} from './lease.js'
import {type SubnetPool, poolSize} from './network-config.js'

/**
 * Which subnet this host should hold, decided from the config and the current leases
 * alone (pure), as flannel decides it and with its returning-host bug fixed:
 * 1. a lease (or reservation) whose PublicIP is ours and that fits the config;
 * 2. else the subnet of our previous subnet file, only if nobody holds it;
 * 3. else one at random among the first free ones from SubnetMin.
 */
export interface ExistingLease {
  key: string
  subnets: LeaseSubnets
  /** undefined when the value does not parse: the subnet still counts as taken. */
  attrs?: LeaseAttrs
  /** No etcd lease: a reservation. */
  reserved: boolean
  modRevision: number
}

export type SubnetChoice =
  | {kind: 'reuse'; lease: ExistingLease}
  | {kind: 'new'; subnets: LeaseSubnets; reason: 'previous' | 'random'}

export const RANDOM_AMONG_FIRST_FREE = 100

export interface ChooseInput {
  pools: readonly SubnetPool[]
  leases: readonly ExistingLease[]
  /** This host's PublicIP: a lease holding it is ours (under a config with IPv4). */
  publicIp?: string
  /** This host's PublicIPv6: what identifies its lease under an IPv6-only config (PublicIP is 0.0.0.0 there). */
  publicIpv6?: string | null
  previous?: LeaseSubnets
  random?: () => number
}

const subnetOf = (subnets: LeaseSubnets, pool: SubnetPool) => (pool.family === 4 ? subnets.v4 : subnets.v6)

function fits(subnets: LeaseSubnets, pool: SubnetPool): boolean {
  const subnet = subnetOf(subnets, pool)
  return subnet !== undefined && subnet.prefix === pool.subnetLen && subnet.ip >= pool.min && subnet.ip <= pool.max
}

function isOurs(lease: ExistingLease, input: ChooseInput): boolean {
  if (input.pools.some((p) => p.family === 4)) return input.publicIp !== undefined && lease.attrs?.PublicIP === input.publicIp
  return typeof input.publicIpv6 === 'string' && lease.attrs?.PublicIPv6 === input.publicIpv6
}

export function chooseSubnet(input: ChooseInput): SubnetChoice {
  const random = input.random ?? Math.random
  const ours = input.leases.find((l) => isOurs(l, input) && input.pools.every((p) => fits(l.subnets, p)))
  if (ours) return {kind: 'reuse', lease: ours}
  const taken = input.pools.map((pool) => new Set(input.leases.map((l) => subnetOf(l.subnets, pool)?.ip).filter((ip): ip is bigint => ip !== undefined)))
  const previous = input.previous
  if (previous && input.pools.every((pool, i) => fits(previous, pool) && !taken[i].has(subnetOf(previous, pool)!.ip))) {
    return {kind: 'new', subnets: previous, reason: 'previous'}
  }
  const subnets: LeaseSubnets = {}
  input.pools.forEach((pool, i) => {
    const picked = pickFree(pool, taken[i], random)
    if (pool.family === 4) subnets.v4 = picked
    else subnets.v6 = picked
  })
  return {kind: 'new', subnets, reason: 'random'}
}

/**
 * Whether a lease just created must give way: a dual-stack key names two subnets, so
 * create-if-absent on it cannot stop two hosts racing to the same IPv6 (or IPv4) half.
 * Of two leases sharing a subnet the older one (lower create revision) keeps it; a
 * reservation always does.
 */
export function mustYield(own: {key: string; subnets: LeaseSubnets; createRevision: number}, leases: readonly (ExistingLease & {createRevision: number})[]): boolean {
  const shares = (other: LeaseSubnets) =>
    (own.subnets.v4 !== undefined && other.v4 !== undefined && cidrsOverlap(own.subnets.v4, other.v4)) ||
    (own.subnets.v6 !== undefined && other.v6 !== undefined && cidrsOverlap(own.subnets.v6, other.v6))
  return leases.some((l) => l.key !== own.key && shares(l.subnets) && (l.reserved || l.createRevision < own.createRevision))
}

/** One free subnet of a pool: at random among the first free ones (`random` returning 0: the first free one). */
export function pickFree(pool: SubnetPool, taken: ReadonlySet<bigint>, random: () => number): Cidr {
  const step = 1n << BigInt(bitsOf(pool.family) - pool.subnetLen)
  const free: bigint[] = []
  for (let ip = pool.min; ip <= pool.max && free.length < RANDOM_AMONG_FIRST_FREE; ip += step) if (!taken.has(ip)) free.push(ip)
  if (free.length === 0) {
    const range = `${ipString(pool.family, pool.min)}/${pool.subnetLen} to ${ipString(pool.family, pool.max)}/${pool.subnetLen}`
    throw new ConflictError(`subnet: out of subnets: all ${poolSize(pool)} subnets from ${range} are leased or reserved (${taken.size} keys)`, 'release unused leases with cnet subnet release, or widen the network')
  }
  return {family: pool.family, ip: free[Math.floor(random() * free.length)], prefix: pool.subnetLen}
}
