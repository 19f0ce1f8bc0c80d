import * as packet from 'dns-packet'
import {StaticHosts} from '../../src/dns/hosts.js'
import type {RecordOptions, RecordSource} from '../../src/dns/records.js'
import {Registry, emptyChange} from '../../src/dns/registry.js'
import type {HostEntry} from '../../src/dns/serve-options.js'
import type {HealthStatus, ServiceRegistration} from '../../src/svc/model.js'

/** Builders for the DNS unit tests: registrations, a filled registry, record options, query packets. */
export function registration(id: string, address: string, extra: Partial<ServiceRegistration> = {}): ServiceRegistration {
  return {id, name: 'web', namespace: 'default', address, port: 80, protocol: 'tcp', tags: [], meta: {}, weight: 1, node: 'n1', registeredAt: '', ...extra}
}

export const identOf = (r: ServiceRegistration) => `${r.namespace}/${r.name}/${r.id}`

export function registryWith(registrations: ServiceRegistration[], health: Record<string, HealthStatus> = {}): Registry {
  const registry = new Registry()
  const change = emptyChange()
  for (const r of registrations) registry.putRegistration(identOf(r), r, change)
  for (const [ident, status] of Object.entries(health)) registry.putHealth(ident, status, change)
  return registry
}

export function sourceOf(registry: Registry, onlyPassing = false): RecordSource {
  return {
    healthy: (service) => registry.healthy(service, onlyPassing),
    atAddress: (address) => registry.atAddress(address),
    hasNamespace: (namespace) => registry.hasNamespace(namespace),
  }
}

export function recordOptions(extra: Partial<RecordOptions> & {hostEntries?: HostEntry[]} = {}): RecordOptions {
  const {hostEntries, ...rest} = extra
  return {zone: 'cluster.local', ttlSeconds: 5, negativeTtlSeconds: 5, nameserverAddresses: ['10.96.0.10'], hosts: new StaticHosts(hostEntries ?? []), ...rest}
}

export interface QuestionOptions {
  id?: number
  rd?: boolean
  /** EDNS: the buffer size, version, DO bit; absent: no OPT record. */
  edns?: {udpSize?: number; version?: number; do?: boolean}
  klass?: number
  opcode?: number
}

/** A name as its labels go on the wire, uncompressed, each label's chars one byte (latin1). */
export function wireName(labels: readonly string[]): Buffer {
  return Buffer.concat([...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')])), Buffer.from([0])])
}

/** A query packet as a client sends it (any type number, any class). */
export function question(name: string, type: number | string, options: QuestionOptions = {}): Buffer {
  const additionals = options.edns
    ? [{name: '.', type: 'OPT', udpPayloadSize: options.edns.udpSize ?? 1232, extendedRcode: 0, ednsVersion: options.edns.version ?? 0, flags: options.edns.do ? packet.DNSSEC_OK : 0, options: []} as unknown as packet.Answer]
    : []
  const buf = packet.encode({
    id: options.id ?? 4242,
    type: 'query',
    flags: options.rd === false ? 0 : packet.RECURSION_DESIRED,
    questions: [{name, type: typeof type === 'number' ? `UNKNOWN_${type}` : type, class: 'IN'} as unknown as packet.Question],
    additionals,
  })
  if (options.klass !== undefined) {
    // dns-packet names only the classes it knows: write the number after the type
    let offset = 12
    while (buf[offset] !== 0) offset += 1 + buf[offset]!
    buf.writeUInt16BE(options.klass, offset + 3)
  }
  if (options.opcode !== undefined) buf[2] = (buf[2]! & 0x87) | (options.opcode << 3)
  return buf
}
