import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {type HealthRecord, type HealthStatus, type Maintenance, type ServiceRegistration, type StoredHealth, type StoredRegistration, effectiveStatus, parseHealth, parseRegistration, parseStoredHealth, parseStoredRegistration} from './model.js'
import {SCHEMA_VERSION, schemaVersion} from './node-index.js'

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
 * Reads registrations and health records and joins them: two listings of the narrowest
 * prefix (a namespace, a service); with a node and a complete per-node index, that
 * node's index entries and one health read per instance instead.
 */
export async function listInstances(store: Store, keys: Keys, filter: InstanceFilter = {}): Promise<InstanceRow[]> {
  const joined = filter.node !== undefined && (await schemaVersion(store, keys)) >= SCHEMA_VERSION ? (await readNode(store, keys, filter.node)).map(([registration, health]) => toRow(registration, health)) : await readScope(store, keys, filter)
  const rows = joined.filter((row) => matches(row, filter))
  // Code-unit order, as etcd keeps keys (names are DNS labels): the same order for them, without ICU collation's cost per comparison.
  // A listing is in that order already unless a name is another's start followed by "-" (sorted before "/" in a key): checked first, it is seldom sorted again.
  const order = (a: InstanceRow, b: InstanceRow) => byService(a, b) || byText(a.id, b.id)
  for (let i = 1; i < rows.length; i++) if (order(rows[i - 1]!, rows[i]!) > 0) return rows.sort(order)
  return rows
}

type Joined = [ServiceRegistration, HealthRecord | undefined]

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Rows by namespace, then name, in code-unit order: listInstances' order before the id. */
export const byService = (a: InstanceRow, b: InstanceRow): number => byText(a.namespace, b.namespace) || byText(a.name, b.name)

/**
 * Both listings at once, each page parsed as it arrives (while etcd reads the next), then
 * joined. Each registration becomes its row at once, and its health is filled in at the
 * join: at 100,000 instances, keeping the parsed registrations until then made the
 * collector copy them out of the young generation, only to drop them at the join.
 */
async function readScope(store: Store, keys: Keys, filter: InstanceFilter): Promise<InstanceRow[]> {
  const [namespace, name] = filter.namespace === undefined ? [undefined, undefined] : [filter.namespace, filter.name]
  let records = new Map<string, StoredHealth>()
  let rows: [string, InstanceRow, boolean][] = []
  await Promise.all([
    store.list(keys.servicesPrefix(namespace, name), {
      onKeyValues: (page, first) => {
        if (first) rows = []
        page.forEach((key, value) => {
          const registration = parseStoredRegistration(value)
          const id = keys.instanceIdentOf(key)
          if (registration && id) rows.push([id, rowOf(registration), registration.check !== undefined])
        })
      },
    }),
    store.list(keys.healthPrefix(namespace, name), {
      onKeyValues: (page, first) => {
        if (first) records = new Map()
        page.forEach((key, value) => {
          const record = parseStoredHealth(value)
          const id = keys.instanceIdentOf(key)
          if (record && id) records.set(id, record)
        })
      },
    }),
  ])
  return rows.map(([id, row, checked]) => withHealth(row, checked, records.get(id)))
}

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
