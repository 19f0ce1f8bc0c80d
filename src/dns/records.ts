import type {Answer} from 'dns-packet'
import {isIP} from 'node:net'
import {formatIp, parseIp} from '../net/ip.js'
import type {StaticHosts} from './hosts.js'
import type {DnsInstance} from './registry.js'
import {RCODE, TYPE} from './wire.js'

/** Pure: the answers for a name inside the zone, a hosts entry or a reverse name. */
export interface RecordOptions {
  zone: string
  ttlSeconds: number
  negativeTtlSeconds: number
  /** The server's own addresses: the A/AAAA records of the zone's NS target. */
  nameserverAddresses: readonly string[]
  hosts: StaticHosts
}

/** What answers are built from: the registry, with the --only-passing choice already made. */
export interface RecordSource {
  /** The healthy instances of "<name>.<namespace>", sorted by id; undefined for none. */
  healthy(service: string): readonly DnsInstance[] | undefined
  /** Every instance registered at an address (canonical text). */
  atAddress(address: string): readonly DnsInstance[] | undefined
  hasNamespace(namespace: string): boolean
}

export interface Reply {
  rcode: number
  /** Authoritative (AA): every answer of ours is. */
  answers: Answer[]
  authorities: Answer[]
  additionals: Answer[]
}

export const DNS_VERSION = 'cnet-dns 1'

/**
 * What a name in the zone means, from its labels alone. Per-instance, tag and port names
 * cannot be confused: below `<name>.<namespace>` an instance name has one label (its id, a
 * DNS label, never starting with `_`), a tag name two ending in the fixed `_tag`, and an
 * SRV port name two starting with `_` whose second is a protocol (`_tcp`, `_udp`, never
 * `_tag`).
 */
export type ZoneName =
  | {kind: 'apex'}
  | {kind: 'nameserver'}
  | {kind: 'version'}
  /** An empty non-terminal that always exists (`svc.<zone>`, `dns.<zone>`): NODATA. */
  | {kind: 'empty'}
  | {kind: 'namespace'; namespace: string}
  | {kind: 'service'; service: string}
  /** `_tag.<name>.<ns>`, `_tcp.<name>.<ns>`: empty non-terminals while the service has instances. */
  | {kind: 'service-branch'; service: string}
  | {kind: 'instance'; service: string; id: string}
  | {kind: 'tag'; service: string; tag: string}
  | {kind: 'port'; service: string; portName: string; protocol: string}
  | {kind: 'none'}

/** `name` lower-cased, without the trailing dot, and inside the zone. */
export function classifyZoneName(name: string, zone: string): ZoneName {
  if (name === zone) return {kind: 'apex'}
  const labels = name.slice(0, -(zone.length + 1)).split('.')
  const last = labels.length - 1
  if (labels[last] === 'dns') {
    if (labels.length === 1) return {kind: 'empty'}
    return labels.length === 2 && labels[0] === 'ns' ? {kind: 'nameserver'} : {kind: 'none'}
  }
  if (labels.length === 1 && labels[0] === 'dns-version') return {kind: 'version'}
  if (labels[last] !== 'svc') return {kind: 'none'}
  const head = labels.slice(0, -1)
  switch (head.length) {
    case 0:
      return {kind: 'empty'}
    case 1:
      return {kind: 'namespace', namespace: head[0]!}
    case 2:
      return {kind: 'service', service: `${head[0]}.${head[1]}`}
    case 3: {
      const service = `${head[1]}.${head[2]}`
      if (head[0]!.startsWith('_')) return head[0] === '_tag' || head[0] === '_tcp' || head[0] === '_udp' ? {kind: 'service-branch', service} : {kind: 'none'}
      return {kind: 'instance', service, id: head[0]!}
    }
    case 4: {
      const service = `${head[2]}.${head[3]}`
      if (head[1] === '_tag') return {kind: 'tag', service, tag: head[0]!}
      if (head[0]!.startsWith('_') && head[1]!.startsWith('_')) return {kind: 'port', service, portName: head[0]!.slice(1), protocol: head[1]!.slice(1)}
      return {kind: 'none'}
    }
    default:
      return {kind: 'none'}
  }
}

/**
 * What an answer for `name` depends on, so a change invalidates only the answers it can
 * alter: `s:<service>`, `n:<namespace>`, `a:<address>`, or '' for answers that change only
 * with the config (hosts, the apex, unknown shapes).
 */
export function dependencyOf(name: string, options: Pick<RecordOptions, 'zone' | 'hosts'>): string {
  if (options.hosts.lookup(name)) return ''
  if (isReverseName(name)) {
    const address = addressOfReverseName(name)
    return address ? `a:${address}` : ''
  }
  const what = classifyZoneName(name, options.zone)
  if ('service' in what) return `s:${what.service}`
  if (what.kind === 'namespace') return `n:${what.namespace}`
  return ''
}

export function isReverseName(name: string): boolean {
  return name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa')
}

export function reverseNameOf(address: string): string | undefined {
  const ip = parseIp(address)
  if (!ip) return undefined
  if (ip.family === 4) return `${address.split('.').reverse().join('.')}.in-addr.arpa`
  const hex = ip.value.toString(16).padStart(32, '0')
  return `${[...hex].reverse().join('.')}.ip6.arpa`
}

/** The address (canonical text) a full reverse name stands for, or undefined (a partial or bad name). */
export function addressOfReverseName(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.')
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) < 256)) return undefined
    return parts.reverse().join('.')
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.')
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined
    return formatIp({family: 6, value: BigInt(`0x${nibbles.reverse().join('')}`)})
  }
  return undefined
}

export function soaRecord(options: Pick<RecordOptions, 'zone' | 'negativeTtlSeconds'>): Answer {
  return {
    name: options.zone,
    type: 'SOA',
    ttl: options.negativeTtlSeconds,
    data: {
      mname: nameserverName(options.zone),
      rname: `hostmaster.${options.zone}`,
      serial: 1,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: options.negativeTtlSeconds,
    },
  } as Answer
}

/** The zone's NS target; answered with the server's own addresses so it resolves. */
export const nameserverName = (zone: string): string => `ns.dns.${zone}`

const addressType = (family: number): 'A' | 'AAAA' | undefined => (family === 4 ? 'A' : family === 6 ? 'AAAA' : undefined)

/**
 * Builds the reply for one question. `rotation` shifts the order of A/AAAA/SRV answers
 * so clients spread over instances.
 */
export function buildReply(source: RecordSource, options: RecordOptions, name: string, qtype: number, rotation = 0): Reply {
  const {zone, ttlSeconds: ttl} = options
  const reply: Reply = {rcode: RCODE.NOERROR, answers: [], authorities: [], additionals: []}
  const negative = (rcode: number, withSoa = true) => {
    reply.rcode = rcode
    reply.answers = []
    reply.additionals = []
    reply.authorities = withSoa ? [soaRecord(options)] : []
    return reply
  }
  const rotate = <T>(list: readonly T[]): readonly T[] => {
    const shift = list.length ? rotation % list.length : 0
    return shift ? [...list.slice(shift), ...list.slice(0, shift)] : list
  }
  const instanceName = (instance: DnsInstance) => `${instance.id}.${instance.service}.svc.${zone}`
  const wanted = qtype === TYPE.A ? 4 : qtype === TYPE.AAAA ? 6 : qtype === TYPE.ANY ? -1 : 0
  /** A/AAAA of the instances (one record for ANY: RFC 8482 minimal answers). */
  const addresses = (owner: string, instances: readonly DnsInstance[]) => {
    for (const instance of rotate(instances)) {
      const type = addressType(instance.family)
      if (!type || (wanted !== -1 && instance.family !== wanted)) continue
      reply.answers.push({name: owner, type, ttl, class: 'IN', data: instance.address} as Answer)
      if (wanted === -1) break
    }
  }
  const srvs = (owner: string, instances: readonly DnsInstance[]) => {
    for (const instance of rotate(instances)) {
      const target = instanceName(instance)
      reply.answers.push({name: owner, type: 'SRV', ttl, class: 'IN', data: {priority: 0, weight: instance.weight, port: instance.port, target}} as Answer)
      const type = addressType(instance.family)
      if (type) reply.additionals.push({name: target, type, ttl, class: 'IN', data: instance.address} as Answer)
    }
  }
  /** Addresses, SRV or nothing for the instances a name stands for; NXDOMAIN when there are none. */
  const instancesAnswer = (instances: readonly DnsInstance[] | undefined, srv: boolean) => {
    if (!instances?.length) return negative(RCODE.NXDOMAIN)
    if (qtype === TYPE.SRV && srv) srvs(name, instances)
    else addresses(name, instances)
    return reply.answers.length ? reply : negative(RCODE.NOERROR)
  }

  const host = options.hosts.lookup(name)
  if (host) {
    const list = wanted === 4 ? host.v4 : wanted === 6 ? host.v6 : wanted === -1 ? [...host.v4, ...host.v6].slice(0, 1) : []
    for (const address of rotate(list)) reply.answers.push({name, type: isIP(address) === 4 ? 'A' : 'AAAA', ttl, class: 'IN', data: address} as Answer)
    return reply
  }

  if (isReverseName(name)) {
    const address = addressOfReverseName(name)
    const targets = [...(address ? (source.atAddress(address) ?? []).map(instanceName) : []), ...((address && options.hosts.namesAt(address)) || [])]
    if (!targets.length) return negative(RCODE.NXDOMAIN, false)
    if (qtype === TYPE.PTR || qtype === TYPE.ANY) for (const target of targets) reply.answers.push({name, type: 'PTR', ttl, class: 'IN', data: target} as Answer)
    return reply
  }

  const what = classifyZoneName(name, zone)
  switch (what.kind) {
    case 'apex':
      if (qtype === TYPE.SOA || qtype === TYPE.ANY) reply.answers.push(soaRecord(options))
      else if (qtype === TYPE.NS) {
        reply.answers.push({name: zone, type: 'NS', ttl, class: 'IN', data: nameserverName(zone)} as Answer)
        for (const address of options.nameserverAddresses) reply.additionals.push({name: nameserverName(zone), type: isIP(address) === 4 ? 'A' : 'AAAA', ttl, class: 'IN', data: address} as Answer)
      } else return negative(RCODE.NOERROR)
      return reply
    case 'nameserver':
      for (const address of rotate(options.nameserverAddresses)) {
        const family = isIP(address)
        if (wanted === family || wanted === -1) reply.answers.push({name, type: family === 4 ? 'A' : 'AAAA', ttl, class: 'IN', data: address} as Answer)
        if (wanted === -1 && reply.answers.length) break
      }
      return reply.answers.length ? reply : negative(RCODE.NOERROR)
    case 'version':
      if (qtype !== TYPE.TXT && qtype !== TYPE.ANY) return negative(RCODE.NOERROR)
      reply.answers.push({name, type: 'TXT', ttl: 0, class: 'IN', data: [DNS_VERSION]} as Answer)
      return reply
    case 'empty':
      return negative(RCODE.NOERROR)
    case 'namespace':
      return negative(source.hasNamespace(what.namespace) ? RCODE.NOERROR : RCODE.NXDOMAIN)
    case 'service':
      return instancesAnswer(source.healthy(what.service), true)
    case 'service-branch':
      return negative(source.healthy(what.service) ? RCODE.NOERROR : RCODE.NXDOMAIN)
    case 'instance': {
      const one = source.healthy(what.service)?.find((instance) => instance.id === what.id)
      return instancesAnswer(one ? [one] : undefined, false)
    }
    case 'tag':
      return instancesAnswer(source.healthy(what.service)?.filter((instance) => instance.tags.includes(what.tag)), true)
    case 'port': {
      const instances = source.healthy(what.service)?.filter((instance) => instance.protocol === what.protocol && instance.portName === what.portName)
      if (!instances?.length) return negative(RCODE.NXDOMAIN)
      if (qtype === TYPE.SRV || qtype === TYPE.ANY) srvs(name, instances)
      return reply.answers.length ? reply : negative(RCODE.NOERROR)
    }
    case 'none':
      return negative(RCODE.NXDOMAIN)
  }
}
