import {formatDuration} from '../lib/duration.js'
import type {NetworkConfig} from '../net/network-config.js'
import type {InitResult} from '../net/network-store.js'
import type {ReserveResult} from '../net/subnet-admin.js'
import type {SubnetLeaseResult} from '../net/subnet-acquire.js'
import type {LeaseRow} from '../net/subnet-listing.js'
import type {DownResult} from '../net/vxlan/down.js'
import type {CheckDefinition, ServiceRegistration} from '../svc/model.js'
import type {DeregisterResult, MaintenanceResult, RegisterResult} from '../svc/registry.js'
import type {TtlUpdateResult} from '../svc/ttl-update.js'
import {type RecordField, hostPort} from './output.js'

/**
 * What commands say to people: a sentence for an action ("registered web-1 ..."), a
 * record for a thing shown. Durations read 23h59m54s everywhere, absent values are
 * left out or blank, never "null". --json prints the full result instead.
 */

const seconds = (s: number) => formatDuration(s * 1000)
const both = (...values: (string | null | undefined)[]) => values.filter(Boolean).join(' and ')

/**
 * How long a lease has left, as `subnet list --expiry` and `subnet show` print it (or
 * that its key is invalid); "leased" when its time left was not asked for.
 */
export function leaseExpiry(row: Pick<LeaseRow, 'reserved' | 'valid' | 'expiresInSeconds'>): string {
  if (!row.valid) return 'invalid'
  if (row.reserved) return 'reserved'
  if (row.expiresInSeconds === undefined) return 'leased'
  return (row.expiresInSeconds ?? 0) > 0 ? seconds(row.expiresInSeconds!) : 'expired'
}

/** "check http every 10s", "TTL check of 30s", "no check". */
export function checkSummary(check: CheckDefinition | undefined): string {
  if (!check) return 'no check'
  if (check.type === 'ttl') return `TTL check of ${formatDuration(check.ttlMs)}`
  return `check ${check.type} every ${formatDuration(check.intervalMs)}`
}

const REGISTERED: Record<RegisterResult['action'], string> = {created: 'registered', updated: 'updated', unchanged: 'already registered:'}

export function registeredSentence(registration: ServiceRegistration, result: RegisterResult): string {
  const parts = [`${REGISTERED[result.action]} ${result.id} (${result.name}.${result.namespace}) at ${hostPort(registration.address, registration.port)}, ${checkSummary(registration.check)}`]
  if (result.initialStatus) parts.push(`, ${result.initialStatus} until its first result`)
  if (result.action !== 'created' && result.healthKept) parts.push('; its health is kept')
  if (result.leaseTtlSeconds) parts.push(`; held under a ${seconds(result.leaseTtlSeconds)} etcd lease while this runs`)
  return parts.join('')
}

export function deregisteredSentence(result: DeregisterResult): string {
  const instance = `${result.id} (${result.name}.${result.namespace})`
  if (result.action === 'absent') return `${instance} was not registered: nothing to remove`
  return `deregistered ${instance}${result.healthRemoved ? ' and its health record' : ''}`
}

export function maintenanceSentence(result: MaintenanceResult): string {
  const instance = `${result.id} (${result.name}.${result.namespace})`
  const reason = result.maintenance ? `: ${result.maintenance.reason}` : ''
  if (result.action === 'enabled') return `${instance} is in maintenance${reason}`
  if (result.action === 'updated') return `${instance} stays in maintenance${reason}`
  if (result.action === 'disabled') return `${instance} is out of maintenance`
  return result.maintenance ? `${instance} was already in maintenance${reason}` : `${instance} was not in maintenance`
}

export function ttlUpdatedSentence(result: TtlUpdateResult): string {
  return `${result.id} is ${result.status}: its TTL check turns critical in ${seconds(result.ttlSeconds)} unless updated again`
}

export function leasedSentence(result: SubnetLeaseResult): string {
  const verb = result.action === 'created' ? 'leased' : 'reused the lease of'
  const expiry = result.ttlSeconds === null ? 'reserved, no expiry' : `expires in ${seconds(result.ttlSeconds)}`
  const macs = result.backend === 'host-gw' ? 'host-gw' : [result.vtepMac && `VTEP MAC ${result.vtepMac}`, result.vtepMacV6 && `IPv6 VTEP MAC ${result.vtepMacV6}`].filter(Boolean).join(', ')
  return `${verb} ${both(result.subnet, result.ipv6Subnet)} for ${both(result.publicIp, result.publicIpv6)} (${macs}, ${expiry}); wrote ${result.subnetFile}`
}

/** `subnet show`: the columns of `subnet list`, wide ones included. */
export function leaseRecord(row: LeaseRow): RecordField[] {
  return [
    ['subnet', row.subnet],
    ['public IP', row.publicIp],
    ['public IPv6', row.publicIpv6],
    ['VTEP MAC', row.vtepMac],
    ['host', row.hostName],
    ['expires in', leaseExpiry(row)],
    ['key', row.key],
  ]
}

export function releasedSentence(result: {subnet: string; released: boolean}): string {
  return result.released ? `released ${result.subnet}` : `${result.subnet} was not leased: nothing to release`
}

export function reservedSentence(result: ReserveResult): string {
  return `reserved ${both(result.subnet, result.ipv6Subnet)} for ${both(result.publicIp, result.publicIpv6)}`
}

export function networkInitSentence(result: InitResult): string {
  const c = result.config
  const lengths = both(c.Network ? `/${c.SubnetLen}` : undefined, c.IPv6Network ? `/${c.IPv6SubnetLen}` : undefined)
  const backend = c.Backend.Type === 'vxlan' ? `VNI ${c.Backend.VNI}, port ${c.Backend.Port}` : 'backend host-gw'
  return `network config ${result.action}: ${both(c.Network, c.IPv6Network)} (subnets ${lengths}, ${backend})`
}

/** flannel's field names, Backend's flattened to Backend.VNI and so on. */
export function networkRecord(config: NetworkConfig): RecordField[] {
  const {Backend, ...rest} = config
  return [...Object.entries(rest), ...Object.entries(Backend).map(([k, v]) => [`Backend.${k}`, v])] as RecordField[]
}

export function vxlanDownSentence(result: DownResult): string {
  const devices = result.devices.map((d) => `${d.name}: ${d.removed ? 'removed' : 'already absent'}`)
  return [...devices, `${result.routesRemoved} direct route(s) removed`, `iptables chains ${result.iptablesRemoved ? 'removed' : 'absent'}`].join('; ')
}
