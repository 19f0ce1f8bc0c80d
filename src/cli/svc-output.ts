import type {InstanceRow} from '../svc/listing.js'
import type {DeregisterResult, RegisterResult} from '../svc/registry.js'
import type {WatchedSet} from '../svc/watch.js'
import {keyValues, statusColour, table} from './output.js'

/**
 * Human output of the svc commands, one small function each, so the table style can
 * change in one place. --json prints the results themselves.
 */
export function registerResultsTable(results: readonly RegisterResult[]): string {
  return table(['namespace', 'name', 'id', 'node', 'action', 'health'], results.map((r) => [r.namespace, r.name, r.id, r.node, r.action, r.initialStatus ?? (r.healthKept ? 'kept' : '')]))
}

export function deregisterResultsTable(results: readonly DeregisterResult[]): string {
  return table(['namespace', 'name', 'id', 'action'], results.map((r) => [r.namespace, r.name, r.id, r.action]))
}

export const hostPort = (address: string, port: number) => `${address.includes(':') ? `[${address}]` : address}:${port}`

/** The status column: "maintenance" for an instance in maintenance (it counts as critical). */
export function shownStatus(row: Pick<InstanceRow, 'status' | 'maintenance'>): string {
  return row.maintenance ? statusColour('critical').replace('critical', 'maintenance') : statusColour(row.status)
}

export function instancesTable(rows: readonly InstanceRow[]): string {
  return table(
    ['namespace', 'name', 'id', 'address', 'node', 'check', 'status', 'output'],
    rows.map((r) => [r.namespace, r.name, r.id, hostPort(r.address, r.port), r.node, r.check ?? '', shownStatus(r), oneLine(r.maintenance ? `maintenance: ${r.maintenance.reason}` : r.output)]),
  )
}

/** `svc show`: the registration, its health and its check, as aligned lines. */
export function instanceDetails(row: InstanceRow, check: unknown): string {
  const lines: [string, unknown][] = [
    ['id', row.id],
    ['service', `${row.name}.${row.namespace}`],
    ['address', hostPort(row.address, row.port)],
    ['protocol', row.protocol],
    ['port name', row.portName ?? ''],
    ['node', row.node],
    ['tags', row.tags.join(', ')],
    ['meta', Object.entries(row.meta).map(([k, v]) => `${k}=${v}`).join(', ')],
    ['weight', String(row.weight)],
    ['status', shownStatus(row)],
  ]
  if (row.maintenance) lines.push(['maintenance', `${row.maintenance.reason} (since ${row.maintenance.since})`])
  lines.push(['check', check === null ? 'none' : JSON.stringify(check)], ['since', row.since ?? ''], ['checked at', row.checkedAt ?? ''], ['prober', row.prober ?? ''], ['output', row.output])
  return keyValues(lines)
}

/** The table shows the start of the output on one line; --json has all of it. */
export function oneLine(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > max ? flat.slice(0, max - 3) + '...' : flat
}

/** `svc watch`: one line per set, with the time it was seen. */
export function watchedSetLine(set: WatchedSet, at: Date): string {
  const members = set.instances.map((i) => `${i.id}=${hostPort(i.address, i.port)}${i.status === 'warning' ? ' (warning)' : ''}`)
  return `${at.toISOString()} ${set.name}.${set.namespace}: ${set.instances.length} healthy${members.length ? `: ${members.join(' ')}` : ''}`
}
