import type {Keys} from '../store/keys.js'
import type {KeyValues, Store} from '../store/store.js'
import {StoreUnavailableError} from '../lib/errors.js'
import {type HealthRecord, type HealthStatus, type Maintenance, type ServiceRegistration, type StoredHealth, type StoredRegistration, effectiveStatus, parseHealth, parseRegistration, parseStoredHealth, parseStoredRegistration} from './model.js'
import {SCHEMA_VERSION, schemaVersion} from './node-index.js'
import {ServiceGroups} from './service-groups.js'

/** One instance as `svc list`, `show`, `resolve` and `watch` show it: registration plus effective health. */
export interface InstanceRow {
  namespace: string
  name: string
  id: string
  address: string
  port: number
  portName: string | null
  protocol: 'tcp' | 'udp'
  tags: string[]
  meta: Record<string, string>
  weight: number
  node: string
  check: string | null
  /** The effective status: critical while in maintenance. */
  status: HealthStatus
  maintenance: Maintenance | null
  output: string
  since: string | null
  checkedAt: string | null
  prober: string | null
}

/** `--status maintenance` selects the instances in maintenance (whose status is critical). */
export type StatusFilter = HealthStatus | 'maintenance'
export const STATUS_FILTERS: readonly StatusFilter[] = ['passing', 'warning', 'critical', 'maintenance']

export interface InstanceFilter {
  namespace?: string
  name?: string
  passingOnly?: boolean
  /** Instances carrying every one of these tags. */
  tags?: readonly string[]
  node?: string
  status?: StatusFilter
}

/** Whether a row passes the filter's tag, node and status conditions (namespace and name are read by prefix). */
export function matches(row: InstanceRow, filter: InstanceFilter): boolean {
  if (filter.name !== undefined && row.name !== filter.name) return false
  if (filter.namespace !== undefined && row.namespace !== filter.namespace) return false
  if (filter.node !== undefined && row.node !== filter.node) return false
  if (filter.tags && !filter.tags.every((tag) => row.tags.includes(tag))) return false
  if (filter.passingOnly && row.status !== 'passing') return false
  if (filter.status === 'maintenance') return row.maintenance !== null
  return filter.status === undefined || row.status === filter.status
}

/**
 * Every instance the filter keeps, by namespace, name and id: forEachService's services,
 * held. Reads registrations and health records of the narrowest prefix (a namespace, a
 * service); with a node and a complete per-node index, that node's index entries and one
 * health read per instance instead.
 */
export async function listInstances(store: Store, keys: Keys, filter: InstanceFilter = {}): Promise<InstanceRow[]> {
  const rows: InstanceRow[] = []
  const hold = (service: InstanceRow[]) => {
    for (const row of service) rows.push(row)
  }
  await forEachService(store, keys, filter, hold, () => (rows.length = 0))
  return rows
}

/**
 * Each service's rows (by id), handed to `onService` in listInstances' order as soon as
 * the service is complete and next, while the listing goes on: `svc list --json` writes
 * them as they come instead of holding every row. The health records are read first
 * (both listings start at once; registration pages that arrive before the health is in
 * wait, unread); each registration is then joined as its page arrives.
 *
 * A listing that starts over (etcd compacted its revision between pages) after a service
 * was handed on calls `onStartOver` (drop what was handed on) and hands every service on
 * again. Without it, that fails, as a list that keeps failing does: what was handed on
 * is out (written), and asking again gets a fresh snapshot.
 */
export async function forEachService(store: Store, keys: Keys, filter: InstanceFilter, onService: (rows: InstanceRow[]) => void, onStartOver?: () => void): Promise<void> {
  if (filter.node !== undefined && (await schemaVersion(store, keys)) >= SCHEMA_VERSION) {
    const groups = new ServiceGroups(onService)
    const rows = (await readNode(store, keys, filter.node)).map(([registration, health]) => toRow(registration, health)).filter((row) => matches(row, filter))
    rows.sort((a, b) => byService(a, b) || byText(a.id, b.id))
    for (const row of rows) groups.add(`${row.namespace}/${row.name}`, row)
    groups.end()
    return
  }
  const [namespace, name] = filter.namespace === undefined ? [undefined, undefined] : [filter.namespace, filter.name]
  let records = new Map<string, StoredHealth>()
  let healthIn = false
  let unread: KeyValues[] = []
  let handedOn = false
  const handOn = (rows: InstanceRow[]) => {
    handedOn = true
    onService(rows)
  }
  let groups = new ServiceGroups(handOn)
  const join = (page: KeyValues) =>
    page.forEach((key, value) => {
      const ident = keys.instanceIdentOf(key)
      if (!ident) return
      const registration = parseStoredRegistration(value)
      const row = registration && withHealth(rowOf(registration), registration.check !== undefined, records.get(ident))
      groups.add(ident.slice(0, ident.lastIndexOf('/')), row && matches(row, filter) ? row : undefined)
    })
  const registrations = store.list(keys.servicesPrefix(namespace, name), {
    onKeyValues: (page, first) => {
      if (first) {
        if (handedOn && !onStartOver) throw new StoreUnavailableError(`the listing of ${keys.servicesPrefix(namespace, name)} started over (etcd compacted its revision) after part of it was written; list again`)
        if (handedOn) onStartOver?.()
        handedOn = false
        unread = []
        groups = new ServiceGroups(handOn)
      }
      if (healthIn) join(page)
      else unread.push(page)
    },
  })
  // Awaited below, after the health records; a failure there must not leave it unhandled.
  registrations.catch(() => {})
  await store.list(keys.healthPrefix(namespace, name), {
    onKeyValues: (page, first) => {
      if (first) records = new Map()
      page.forEach((key, value) => {
        const record = parseStoredHealth(value)
        const id = keys.instanceIdentOf(key)
        if (record && id) records.set(id, record)
      })
    },
  })
  healthIn = true
  for (const page of unread.splice(0)) join(page)
  await registrations
  groups.end()
}

type Joined = [ServiceRegistration, HealthRecord | undefined]

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Rows by namespace, then name, in code-unit order: listInstances' order before the id. */
export const byService = (a: InstanceRow, b: InstanceRow): number => byText(a.namespace, b.namespace) || byText(a.name, b.name)

const PARALLEL_READS = 32

async function readNode(store: Store, keys: Keys, node: string): Promise<Joined[]> {
  const registrations = (await store.list(keys.nodeIndexPrefix(node))).items.flatMap((item) => parseRegistration(item.value) ?? [])
  const joined: Joined[] = []
  for (let start = 0; start < registrations.length; start += PARALLEL_READS) {
    const batch = registrations.slice(start, start + PARALLEL_READS)
    const records = await Promise.all(batch.map((r) => store.get(keys.health(r.namespace, r.name, r.id))))
    batch.forEach((registration, i) => joined.push([registration, records[i] ? parseHealth(records[i]!.value) : undefined]))
  }
  return joined
}

export function toRow(registration: ServiceRegistration, health: HealthRecord | undefined): InstanceRow {
  return withHealth(rowOf(registration), registration.check !== undefined, health)
}

/**
 * A registration's row as if it had no health record; withHealth then sets what its
 * health decides. From the registration as stored: a field it lacks gets
 * parseRegistration's default.
 */
function rowOf(registration: StoredRegistration): InstanceRow {
  const check = registration.check
  return {
    namespace: registration.namespace,
    name: registration.name,
    id: registration.id,
    address: registration.address,
    port: registration.port,
    portName: registration.portName ?? null,
    protocol: registration.protocol ?? 'tcp',
    tags: registration.tags ?? [],
    meta: registration.meta ?? {},
    weight: registration.weight ?? 1,
    node: registration.node ?? '',
    check: check?.type ?? null,
    status: effectiveStatus(registration, undefined),
    maintenance: registration.maintenance ?? null,
    output: check ? 'no fresh result (never probed, or its prober is gone)' : 'no check: passing',
    since: null,
    checkedAt: null,
    prober: null,
  }
}

/** Sets the fields of a row that its health record decides; returns the row. */
function withHealth(row: InstanceRow, checked: boolean, health: StoredHealth | undefined): InstanceRow {
  if (!health || !checked) return row
  row.status = effectiveStatus({maintenance: row.maintenance, check: checked}, health)
  row.output = health.output ?? ''
  row.since = health.since ?? ''
  row.checkedAt = health.checkedAt ?? ''
  row.prober = health.prober ?? ''
  return row
}
