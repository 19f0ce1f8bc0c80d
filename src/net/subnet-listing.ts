import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {type LeaseAttrs, type LeaseSubnets, describeSubnets, parseLeaseAttrs, parseLeaseName} from './lease.js'

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
  return listing.items.map((item) => {
    const name = keys.subnetNameOf(item.key) ?? item.key
    const subnets = parseLeaseName(name)
    const attrs = parseLeaseAttrs(item.value)
    return {key: item.key, name, subnets, attrs, reserved: item.lease === null, modRevision: item.modRevision, createRevision: item.createRevision, lease: item.lease, valid: subnets !== undefined && attrs !== undefined}
  })
}

export interface LeaseRow {
  subnet: string
  publicIp: string | null
  publicIpv6: string | null
  vtepMac: string | null
  hostName: string | null
  /** Seconds left, or null for a reservation. */
  expiresInSeconds: number | null
  reserved: boolean
  valid: boolean
  key: string
}

/** The rows of `subnet list`, with each lease's time left read from etcd. */
export async function leaseRows(store: Store, keys: Keys): Promise<LeaseRow[]> {
  const leases = await listLeases(store, keys)
  return Promise.all(leases.map((l) => leaseRow(store, l)))
}

/** One listed lease as a row, with its time left read from etcd. */
export async function leaseRow(store: Store, l: ListedLease): Promise<LeaseRow> {
  return {
    subnet: l.subnets ? describeSubnets(l.subnets) : l.name,
    publicIp: l.attrs?.PublicIP ?? null,
    publicIpv6: l.attrs?.PublicIPv6 ?? null,
    vtepMac: l.attrs?.BackendData?.VtepMAC ?? null,
    hostName: l.attrs?.HostName ?? null,
    expiresInSeconds: l.lease ? ((await store.leaseTimeToLive(l.lease))?.ttlSeconds ?? 0) : null,
    reserved: l.reserved,
    valid: l.valid,
    key: l.key,
  }
}
