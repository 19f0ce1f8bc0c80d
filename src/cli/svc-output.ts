import type {InstanceRow} from '../svc/listing.js'
import type {DeregisterResult, RegisterResult} from '../svc/registry.js'
import type {ResolvedInstance} from '../svc/resolve.js'
import type {WatchedSet} from '../svc/watch.js'
import {type Column, type RecordField, hostPort, renderRecord, sortByHostPort, statusColour} from './output.js'

/**
 * Human output of the svc commands, in one place so their style changes together.
 * Tables go through the one table helper (src/cli/output.ts); --json prints the
 * results themselves.
 */

/** The status column: "maintenance" for an instance in maintenance (it counts as critical). */
export function shownStatus(row: Pick<InstanceRow, 'status' | 'maintenance'>): string {
  return row.maintenance ? 'maintenance' : row.status
}

const statusCell = (text: string) => (text === 'maintenance' ? statusColour('critical').replace('critical', 'maintenance') : statusColour(text))

/** `svc list`: fits 80 columns in normal mode (only OUTPUT is cut); --wide adds the rest. */
export const INSTANCE_COLUMNS: Column<InstanceRow>[] = [
  {header: 'NAMESPACE', value: (r) => r.namespace},
  {header: 'NAME', value: (r) => r.name},
  {header: 'ID', value: (r) => r.id},
  {header: 'ADDRESS', value: (r) => hostPort(r.address, r.port)},
  {header: 'PORT NAME', value: (r) => r.portName, wide: true},
  {header: 'PROTOCOL', value: (r) => r.protocol, wide: true},
  {header: 'WEIGHT', value: (r) => r.weight, wide: true},
  {header: 'NODE', value: (r) => r.node, wide: true, truncate: true},
  {header: 'CHECK', value: (r) => r.check},
  {header: 'STATUS', value: shownStatus, colour: statusCell},
  {header: 'TAGS', value: (r) => r.tags.join(','), wide: true, truncate: true},
  // The start of the output on one line; --json has all of it.
  {header: 'OUTPUT', value: (r) => (r.maintenance ? `maintenance: ${r.maintenance.reason}` : r.output), truncate: true},
]

/**
 * One service's rows in `svc list`'s order, by address (numerically) and port; equal
 * addresses (one instance registered twice) keep the order they came in, by id. The
 * services themselves come in order from forEachService.
 */
export function sortServiceRows(rows: InstanceRow[]): InstanceRow[] {
  return rows.length < 2 ? rows : sortByHostPort(rows, (r) => r.address, (r) => r.port)
}

/** `svc resolve --wide`, in the order picked (the first is the one to use), never sorted. */
export const RESOLVED_COLUMNS: Column<ResolvedInstance>[] = [
  {header: 'ADDRESS', value: (r) => hostPort(r.address, r.port)},
  {header: 'ID', value: (r) => r.id, wide: true},
  {header: 'STATUS', value: (r) => r.status, wide: true, colour: statusCell},
  {header: 'WEIGHT', value: (r) => r.weight, wide: true},
  {header: 'NODE', value: (r) => r.node, wide: true, truncate: true},
  {header: 'TAGS', value: (r) => r.tags.join(','), wide: true, truncate: true},
]

/** `svc register --file`: one row per instance. */
export const REGISTER_RESULT_COLUMNS: Column<RegisterResult>[] = [
  {header: 'NAMESPACE', value: (r) => r.namespace},
  {header: 'NAME', value: (r) => r.name},
  {header: 'ID', value: (r) => r.id},
  {header: 'NODE', value: (r) => r.node, truncate: true},
  {header: 'ACTION', value: (r) => r.action},
  {header: 'HEALTH', value: (r) => r.initialStatus ?? (r.healthKept ? 'kept' : '')},
]

/** `svc deregister --file`: one row per instance. */
export const DEREGISTER_RESULT_COLUMNS: Column<DeregisterResult>[] = [
  {header: 'NAMESPACE', value: (r) => r.namespace},
  {header: 'NAME', value: (r) => r.name},
  {header: 'ID', value: (r) => r.id},
  {header: 'ACTION', value: (r) => r.action},
]

/** `svc show`: the registration, its health and its check, as a record. */
export function instanceDetails(row: InstanceRow, check: unknown): string {
  const fields: RecordField[] = [
    ['id', row.id],
    ['service', `${row.name}.${row.namespace}`],
    ['address', hostPort(row.address, row.port)],
    ['protocol', row.protocol],
    ['port name', row.portName],
    ['node', row.node],
    ['tags', row.tags],
    ['meta', Object.entries(row.meta).map(([k, v]) => `${k}=${v}`)],
    ['weight', row.weight],
    ['status', shownStatus(row), statusCell],
  ]
  if (row.maintenance) fields.push(['maintenance', `${row.maintenance.reason} (since ${row.maintenance.since})`])
  fields.push(['check', check === null ? 'none' : JSON.stringify(check)], ['since', row.since], ['checked at', row.checkedAt], ['prober', row.prober], ['output', row.output])
  return renderRecord(fields)
}

/** `svc watch`: one line per set, with the time it was seen. */
export function watchedSetLine(set: WatchedSet, at: Date): string {
  const members = set.instances.map((i) => `${i.id}=${hostPort(i.address, i.port)}${i.status === 'warning' ? ' (warning)' : ''}`)
  return `${at.toISOString()} ${set.name}.${set.namespace}: ${set.instances.length} healthy${members.length ? `: ${members.join(' ')}` : ''}`
}
