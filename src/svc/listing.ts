import {type Keys, isIdentAt} from '../store/keys.js'
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
 * them as they come instead of holding every row. Both listings start at once, and each
 * registration is joined as soon as the health listing has passed its key: the two
 * listings go on side by side, instead of the registrations waiting for every health
 * record.
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
  let health = new HealthSpans()
  // The health listing, read up to and including `frontier` (an instance's
  // "<namespace>/<name>/<id>"): both listings come in key order, and a registration's
  // health key differs from its own only by the prefix, so a registration at or before
  // the frontier has all the health it will get.
  let frontier: string | undefined
  let healthIn = false
  // Each key is read from where its ident begins (the services or health root), so the
  // ident is made from the bytes, not sliced from a whole key it would keep alive.
  const [servicesRoot, healthRoot] = [Buffer.byteLength(keys.servicesPrefix()), Buffer.byteLength(keys.healthPrefix())]
  const ready = (ident: string) => healthIn || (frontier !== undefined && compareInKeyOrder(ident, frontier) <= 0)
  // Registration pages not yet joined in full, in key order: the first from its item
  // `from` on (the items before were joined), whose ident is `blocked` once the frontier
  // stopped there. Kept as the reply's bytes: a value is made text only when it is joined.
  let waiting: {page: KeyValues; from: number; blocked?: string}[] = []
  let handedOn = false
  const handOn = (rows: InstanceRow[]) => {
    handedOn = true
    onService(rows)
  }
  let groups = new ServiceGroups(handOn)
  const join = (ident: string, value: string) => {
    const registration = parseStoredRegistration(value)
    const row = registration && withHealth(rowOf(registration), registration.check !== undefined, health.get(ident))
    groups.add(ident.slice(0, ident.lastIndexOf('/')), row && matches(row, filter) ? row : undefined)
  }
  /**
   * Joins the waiting registrations the frontier has passed, in order, up to the first it
   * has not. Called after each part of the health listing: the page it stopped in is
   * walked again only once the frontier has passed where it stopped.
   */
  const joinReady = () => {
    while (waiting.length > 0) {
      const head = waiting[0]
      if (head.blocked !== undefined && !ready(head.blocked)) return
      let at = 0
      head.blocked = undefined
      head.page.forEachBytes((ident, bytes, start, end) => {
        const index = at++
        if (index < head.from || head.blocked !== undefined || !isIdentAt(ident)) return
        if (ready(ident)) join(ident, bytes.toString('utf8', start, end))
        else [head.from, head.blocked] = [index, ident]
      }, servicesRoot)
      if (head.blocked !== undefined) return
      waiting.shift()
    }
  }
  const registrations = store.list(keys.servicesPrefix(namespace, name), {
    onKeyValues: (page, first) => {
      if (first) {
        if (handedOn && !onStartOver) throw new StoreUnavailableError(`the listing of ${keys.servicesPrefix(namespace, name)} started over (etcd compacted its revision) after part of it was written; list again`)
        if (handedOn) onStartOver?.()
        handedOn = false
        waiting = []
        groups = new ServiceGroups(handOn)
        health.rewind()
      }
      waiting.push({page, from: 0})
      if (waiting.length === 1) joinReady()
    },
  })
  // Awaited below, after the health records; a failure there must not leave it unhandled.
  registrations.catch(() => {})
  await store.list(keys.healthPrefix(namespace, name), {
    onKeyValues: (page, first) => {
      if (first) [health, frontier] = [new HealthSpans(), undefined]
      page.forEachBytes((ident, bytes, start, end) => {
        if (!isIdentAt(ident)) return
        health.add(ident, bytes, start, end)
        frontier = ident
      }, healthRoot)
      joinReady()
    },
  })
  healthIn = true
  joinReady()
  await registrations
  groups.end()
}

/**
 * A health listing's values, kept as spans of the replies' bytes and each parsed only
 * when its registration is joined. Parsed as they came, 100,000 records outlived V8's
 * young generation while they waited for their registrations, and every scavenge copied
 * them again.
 *
 * Both listings come in key order, and registrations are joined in that order, so a
 * record is found by walking on from the last one found (a merge of the two sorted
 * listings) instead of through a map by ident: at 100,000 instances `svc list --json`
 * took 0.945x the CPU without the map (six pairs, 0.92-1.00).
 */
class HealthSpans {
  private readonly idents: string[] = []
  private readonly buffers: Buffer[] = []
  private readonly starts: number[] = []
  private readonly ends: number[] = []
  /** The first record not passed by an ident asked for. */
  private next = 0

  add(ident: string, bytes: Buffer, start: number, end: number): void {
    this.idents.push(ident)
    this.buffers.push(bytes)
    this.starts.push(start)
    this.ends.push(end)
  }

  /**
   * The instance's health record; undefined when it has none, or what it has is not one.
   * Idents are asked for in key order, each after the ones before it; `rewind` starts over.
   */
  get(ident: string): StoredHealth | undefined {
    const {idents} = this
    while (this.next < idents.length && idents[this.next] !== ident && compareInKeyOrder(idents[this.next]!, ident) < 0) this.next++
    if (idents[this.next] !== ident) return undefined
    const i = this.next++
    return parseStoredHealth(this.buffers[i]!.toString('utf8', this.starts[i], this.ends[i]))
  }

  /** The registrations are listed again (their listing started over): they will ask from the first ident again. */
  rewind(): void {
    this.next = 0
  }
}

/**
 * Two keys' texts in etcd's order (UTF-8 bytes, which is code point order). JavaScript's
 * `<` orders UTF-16 code units, which differs only where a surrogate meets U+E000-U+FFFF.
 */
export function compareInKeyOrder(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return codePointRank(x) - codePointRank(y)
  }
  return a.length - b.length
}

/** A code unit's place in code point order: surrogates (U+D800-U+DFFF) after U+E000-U+FFFF. */
const codePointRank = (unit: number): number => (unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit)

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
