import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {type HealthRecord, type HealthStatus, type ServiceRegistration, effectiveStatus, parseHealth, parseRegistration} from './model.js'

/** One instance as `svc list` and `svc resolve` show it: registration plus effective health. */
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
  status: HealthStatus
  output: string
  since: string | null
  checkedAt: string | null
  prober: string | null
}

export interface InstanceFilter {
  namespace?: string
  name?: string
  passingOnly?: boolean
}

/** Reads registrations and health records (two listings) and joins them. */
export async function listInstances(store: Store, keys: Keys, filter: InstanceFilter = {}): Promise<InstanceRow[]> {
  const scope = filter.namespace === undefined ? [undefined, undefined] : [filter.namespace, filter.name]
  const [services, health] = await Promise.all([store.list(keys.servicesPrefix(scope[0], scope[1])), store.list(keys.healthPrefix(scope[0], scope[1]))])
  const records = new Map<string, HealthRecord>()
  for (const item of health.items) {
    const record = parseHealth(item.value)
    const parts = keys.instanceOf(item.key)
    if (record && parts) records.set(`${parts.namespace}/${parts.name}/${parts.id}`, record)
  }
  const rows: InstanceRow[] = []
  for (const item of services.items) {
    const registration = parseRegistration(item.value)
    const parts = keys.instanceOf(item.key)
    if (!registration || !parts) continue
    if (filter.name !== undefined && parts.name !== filter.name) continue
    const row = toRow(registration, records.get(`${parts.namespace}/${parts.name}/${parts.id}`))
    if (filter.passingOnly && row.status !== 'passing') continue
    rows.push(row)
  }
  return rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
}

export function toRow(registration: ServiceRegistration, health: HealthRecord | undefined): InstanceRow {
  const status = effectiveStatus(registration, health)
  const checked = registration.check !== undefined
  let output = health?.output ?? ''
  if (!checked) output = 'no check: passing'
  else if (!health) output = 'no fresh result (never probed, or its prober is gone)'
  return {
    namespace: registration.namespace,
    name: registration.name,
    id: registration.id,
    address: registration.address,
    port: registration.port,
    portName: registration.portName ?? null,
    protocol: registration.protocol,
    tags: registration.tags,
    meta: registration.meta,
    weight: registration.weight,
    node: registration.node,
    check: registration.check?.type ?? null,
    status,
    output,
    since: checked ? (health?.since ?? null) : null,
    checkedAt: checked ? (health?.checkedAt ?? null) : null,
    prober: checked ? (health?.prober ?? null) : null,
  }
}
