import type {Answer} from 'dns-packet'
import {parseIp} from '../net/ip.js'
import {type HealthRecord, type ServiceRegistration, effectiveStatus} from '../svc/model.js'
import {RCODE, TYPE} from './wire.js'

/** Pure: the answers for a name inside the zone (or a reverse name), built from the index. */
export interface RecordOptions {
  zone: string
  ttlSeconds: number
  negativeTtlSeconds: number
  onlyPassing: boolean
}

export interface Snapshot {
  services: ReadonlyMap<string, ServiceRegistration>
  health: ReadonlyMap<string, HealthRecord>
}

export interface Reply {
  rcode: number
  answers: Answer[]
  authorities: Answer[]
  additionals: Answer[]
}

export const DNS_VERSION = 'cnet-dns 1'

/** Whether a (lower-cased, dotless) name is ours to answer. */
export function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`)
}

export function isReverseName(name: string): boolean {
  return name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa')
}

export function soaRecord(options: RecordOptions): Answer {
  return {
    name: options.zone,
    type: 'SOA',
    ttl: options.negativeTtlSeconds,
    data: {
      mname: `ns.dns.${options.zone}`,
      rname: `hostmaster.${options.zone}`,
      serial: 1,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: options.negativeTtlSeconds,
    },
  } as Answer
}

export function reverseNameOf(address: string): string | undefined {
  const ip = parseIp(address)
  if (!ip) return undefined
  if (ip.family === 4) return `${address.split('.').reverse().join('.')}.in-addr.arpa`
  const hex = ip.value.toString(16).padStart(32, '0')
  return `${[...hex].reverse().join('.')}.ip6.arpa`
}

interface Instance {
  registration: ServiceRegistration
  status: string
}

/** Healthy instances (warning counts unless onlyPassing), grouped by "<name>.<namespace>". */
export function healthyByService(snapshot: Snapshot, onlyPassing: boolean): Map<string, Instance[]> {
  const groups = new Map<string, Instance[]>()
  for (const [id, registration] of snapshot.services) {
    const status = effectiveStatus(registration, snapshot.health.get(id))
    if (status === 'critical' || (onlyPassing && status === 'warning')) continue
    const key = `${registration.name}.${registration.namespace}`.toLowerCase()
    let list = groups.get(key)
    if (!list) groups.set(key, (list = []))
    list.push({registration, status})
  }
  for (const list of groups.values()) list.sort((a, b) => a.registration.id.localeCompare(b.registration.id))
  return groups
}

const addressType = (address: string): 'A' | 'AAAA' | undefined => {
  const ip = parseIp(address)
  return ip ? (ip.family === 4 ? 'A' : 'AAAA') : undefined
}

/**
 * Builds the reply for one question. `rotation` shifts the order of A/AAAA/SRV answers
 * so clients spread over instances.
 */
export function buildReply(snapshot: Snapshot, groups: Map<string, Instance[]>, options: RecordOptions, name: string, qtype: number, rotation = 0): Reply {
  const {zone, ttlSeconds: ttl} = options
  const reply: Reply = {rcode: RCODE.NOERROR, answers: [], authorities: [], additionals: []}
  const negative = (rcode: number) => {
    reply.rcode = rcode
    reply.answers = []
    reply.authorities = [soaRecord(options)]
    return reply
  }
  const rotate = <T>(list: T[]) => (list.length ? [...list.slice(rotation % list.length), ...list.slice(0, rotation % list.length)] : list)
  const instanceName = (r: ServiceRegistration) => `${r.id}.${r.name}.${r.namespace}.svc.${zone}`.toLowerCase()
  const addressRecord = (owner: string, address: string): Answer | undefined => {
    const type = addressType(address)
    return type ? ({name: owner, type, ttl, class: 'IN', data: address} as Answer) : undefined
  }
  const addresses = (owner: string, instances: Instance[]) => {
    const wanted = qtype === TYPE.A ? 'A' : qtype === TYPE.AAAA ? 'AAAA' : undefined
    const out: Answer[] = []
    for (const {registration} of rotate(instances)) {
      const record = addressRecord(owner, registration.address)
      if (record && (record.type === wanted || qtype === TYPE.ANY)) out.push(record)
      if (qtype === TYPE.ANY && out.length) break // RFC 8482: minimal
    }
    return out
  }
  const srvs = (owner: string, instances: Instance[]) => {
    for (const {registration} of rotate(instances)) {
      const target = instanceName(registration)
      reply.answers.push({name: owner, type: 'SRV', ttl, class: 'IN', data: {priority: 0, weight: registration.weight, port: registration.port, target}} as Answer)
      const glue = addressRecord(target, registration.address)
      if (glue) reply.additionals.push(glue)
    }
  }

  if (isReverseName(name)) {
    for (const [, registration] of snapshot.services) {
      if (reverseNameOf(registration.address) === name) {
        if (qtype === TYPE.PTR || qtype === TYPE.ANY) reply.answers.push({name, type: 'PTR', ttl, class: 'IN', data: instanceName(registration)} as Answer)
      }
    }
    return reply.answers.length || qtype !== TYPE.PTR ? reply : negative(RCODE.NXDOMAIN)
  }

  if (name === zone) {
    if (qtype === TYPE.SOA || qtype === TYPE.ANY) reply.answers.push(soaRecord(options))
    else if (qtype === TYPE.NS) reply.answers.push({name: zone, type: 'NS', ttl, class: 'IN', data: `ns.dns.${zone}`} as Answer)
    else return negative(RCODE.NOERROR)
    return reply
  }
  if (name === `dns-version.${zone}`) {
    if (qtype !== TYPE.TXT && qtype !== TYPE.ANY) return negative(RCODE.NOERROR)
    reply.answers.push({name, type: 'TXT', ttl: 0, class: 'IN', data: [DNS_VERSION]} as Answer)
    return reply
  }
  const labels = name.slice(0, -(zone.length + 1)).split('.')
  const svcAt = labels.lastIndexOf('svc')
  if (svcAt !== labels.length - 1) return negative(RCODE.NXDOMAIN)
  const head = labels.slice(0, -1)
  // <name>.<ns>.svc
  if (head.length === 2) {
    const instances = groups.get(`${head[0]}.${head[1]}`)
    if (!instances?.length) return negative(RCODE.NXDOMAIN)
    if (qtype === TYPE.SRV) srvs(name, instances)
    else reply.answers.push(...addresses(name, instances))
    return reply.answers.length ? reply : negative(RCODE.NOERROR)
  }
  if (head.length === 3) {
    const instances = groups.get(`${head[1]}.${head[2]}`)
    if (!instances?.length) return negative(RCODE.NXDOMAIN)
    // <id>.<name>.<ns>.svc
    const one = instances.find(({registration}) => registration.id.toLowerCase() === head[0])
    if (one) {
      reply.answers.push(...addresses(name, [one]))
      return reply.answers.length ? reply : negative(RCODE.NOERROR)
    }
    return negative(RCODE.NXDOMAIN)
  }
  if (head.length === 4 && head[0]!.startsWith('_') && head[1]!.startsWith('_')) {
    // _<port-name>._<proto>.<name>.<ns>.svc
    const portName = head[0]!.slice(1)
    const proto = head[1]!.slice(1)
    const instances = (groups.get(`${head[2]}.${head[3]}`) ?? []).filter(
      ({registration}) => registration.protocol === proto && (registration.portName ?? registration.protocol).toLowerCase() === portName,
    )
    if (!instances.length) return negative(RCODE.NXDOMAIN)
    if (qtype === TYPE.SRV || qtype === TYPE.ANY) srvs(name, instances)
    return reply.answers.length ? reply : negative(RCODE.NOERROR)
  }
  return negative(RCODE.NXDOMAIN)
}
