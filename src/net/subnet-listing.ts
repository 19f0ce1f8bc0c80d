import type {Keys} from '../store/keys.js'
import type {Store, StoredValue} from '../store/store.js'
import {type LeaseAttrs, type LeaseSubnets, describeSubnets, parseLeaseAttrs, parseLeaseName} from './lease.js'
import {type SharedMac, sharedMacs} from './vxlan/peers.js'

/** Every key under the subnets prefix, parsed where it parses; a bad key never breaks the listing. */
export interface ListedLease {
  key: string
  name: string
  subnets?: LeaseSubnets
  attrs?: LeaseAttrs
  reserved: boolean
  modRevision: number
  createRevision: number
  lease: string | null
  valid: boolean
}

export async function listLeases(store: Store, keys: Keys): Promise<ListedLease[]> {
  const listing = await store.list(keys.subnetsPrefix())
  return listing.items.map((item) => listedLease(keys, item))
}

function listedLease(keys: Keys, item: StoredValue): ListedLease {
  const name = keys.subnetNameOf(item.key) ?? item.key
  const subnets = parseLeaseName(name)
  const attrs = parseLeaseAttrs(item.value)
  return {key: item.key, name, subnets, attrs, reserved: item.lease === null, modRevision: item.modRevision, createRevision: item.createRevision, lease: item.lease, valid: subnets !== undefined && attrs !== undefined}
}

export interface LeaseRow {
  subnet: string
  publicIp: string | null
  publicIpv6: string | null
  /** The IPv4 device's VTEP MAC (BackendData), else the IPv6 one's for an IPv6-only lease. */
  vtepMac: string | null
  /** The IPv6 device's VTEP MAC (BackendV6Data), under dual stack. */
  vtepMacV6: string | null
  hostName: string | null
  /** Seconds left, or null for a reservation; present only when asked for (one etcd call per lease). */
  expiresInSeconds?: number | null
  reserved: boolean
  valid: boolean
  key: string
}

/** How many time-to-live questions are in flight at once: enough to fill the connection, few enough to stay under the deadline. */
export const TTL_CONCURRENCY = 64

export interface LeaseTableOptions {
  /**
   * Ask etcd each lease's time left. etcd has no call that answers for many leases, so
   * it is one question per distinct etcd lease (keys sharing one, reservations none),
   * a bounded number in flight: about 0.3 ms of etcd's CPU each and as much of ours,
   * 5-8 s more for 10,000 leases on two cores, where the whole listing takes under 1 s.
   */
  expiry?: boolean
}

/** The rows of `subnet list`, with each lease's time left when asked for. */
export async function leaseRows(store: Store, keys: Keys, options: LeaseTableOptions = {}): Promise<LeaseRow[]> {
  return (await leaseTable(store, keys, options)).rows
}

/** The rows, and the VTEP MACs more than one lease gives (worth a warning). */
export async function leaseTable(store: Store, keys: Keys, options: LeaseTableOptions = {}): Promise<{rows: LeaseRow[]; sharedMacs: SharedMac[]}> {
  if (options.expiry) {
    const leases = await listLeases(store, keys)
    return {rows: await withExpiry(store, leases), sharedMacs: sharedVtepMacs(leases)}
  }
  // Page by page, each lease made a row as it comes: only the rows are held to the end, not
  // every lease's parsed value besides (10,000 of them, copied by each young-generation GC).
  let rows: LeaseRow[] = []
  let macs: LeaseMac[] = []
  await store.list(keys.subnetsPrefix(), {
    onPage: (items, first) => {
      if (first) [rows, macs] = [[], []]
      for (const item of items) {
        const lease = listedLease(keys, item)
        rows.push(toRow(lease))
        macsOf(lease, macs)
      }
    },
  })
  return {rows, sharedMacs: sharedMacs(macs)}
}

async function withExpiry(store: Store, leases: readonly ListedLease[]): Promise<LeaseRow[]> {
  const ttl = await timesToLive(store, leases.flatMap((l) => (l.lease ? [l.lease] : [])))
  return leases.map((l) => toRow(l, l.lease ? (ttl.get(l.lease) ?? 0) : null))
}

/** One listed lease as a row, with its time left read from etcd. */
export async function leaseRow(store: Store, l: ListedLease): Promise<LeaseRow> {
  return toRow(l, l.lease ? ((await store.leaseTimeToLive(l.lease))?.ttlSeconds ?? 0) : null)
}

/** Seconds left per etcd lease (0 for one already gone), asked once per lease, TTL_CONCURRENCY at a time. */
export async function timesToLive(store: Store, ids: readonly string[], concurrency = TTL_CONCURRENCY): Promise<Map<string, number>> {
  const distinct = [...new Set(ids)]
  const seconds = new Map<string, number>()
  let next = 0
  const worker = async () => {
    while (next < distinct.length) {
      const id = distinct[next++]
      seconds.set(id, (await store.leaseTimeToLive(id))?.ttlSeconds ?? 0)
    }
  }
  await Promise.all(Array.from({length: Math.min(concurrency, distinct.length)}, worker))
  return seconds
}

/**
 * How a row names its subnets: `10.5.52.0/24`, `10.42.1.0/24 2001:cafe:42:1::/64`, or the
 * key's name when it does not parse. A valid name of one subnet is that subnet in
 * canonical form already (parseLeaseName checks it), so it is not formatted again.
 */
function subnetText(l: ListedLease): string {
  if (!l.subnets) return l.name
  return l.name.includes('&') ? describeSubnets(l.subnets) : l.name.replace('-', '/')
}

/** A row; its expiry only when one was read (a reservation's is null). */
function toRow(l: ListedLease, expiresInSeconds?: number | null): LeaseRow {
  return {
    subnet: subnetText(l),
    publicIp: l.attrs?.PublicIP ?? null,
    publicIpv6: l.attrs?.PublicIPv6 ?? null,
    vtepMac: l.attrs?.BackendData?.VtepMAC ?? l.attrs?.BackendV6Data?.VtepMAC ?? null,
    vtepMacV6: l.attrs?.BackendData ? (l.attrs.BackendV6Data?.VtepMAC ?? null) : null,
    hostName: l.attrs?.HostName ?? null,
    ...(expiresInSeconds === undefined ? {} : {expiresInSeconds}),
    reserved: l.reserved,
    valid: l.valid,
    key: l.key,
  }
}

/** Leases that give one VTEP MAC for the same family: on every peer only one of them gets the traffic. */
export function sharedVtepMacs(leases: readonly ListedLease[]): SharedMac[] {
  const macs: LeaseMac[] = []
  for (const l of leases) macsOf(l, macs)
  return sharedMacs(macs)
}

type LeaseMac = {name: string; family: 4 | 6; vtepMac: string}

function macsOf(l: ListedLease, macs: LeaseMac[]): void {
  if (l.attrs?.BackendData) macs.push({name: l.name, family: 4, vtepMac: l.attrs.BackendData.VtepMAC})
  if (l.attrs?.BackendV6Data) macs.push({name: l.name, family: 6, vtepMac: l.attrs.BackendV6Data.VtepMAC})
}
