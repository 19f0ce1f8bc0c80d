import {performance} from 'node:perf_hooks'
import type {AnswerCache} from './answer-cache.js'
import {TCP_LIMIT, truncateForwarded, udpLimit} from './edns.js'
import type {Forwarder} from './forward.js'
import type {StaticHosts} from './hosts.js'
import type {DnsMetrics} from './metrics.js'
import {echoQuestionCase} from './plain-question.js'
import {type QueryLog, classLabel, flagNames, rcodeLabel} from './query-log.js'
import {addressOfReverseName, isReverseName} from './records.js'
import type {Registry} from './registry.js'
import {CLASS, type Query, RCODE, errorReply, parseQuery, typeName} from './wire.js'

/** Everything a query is answered from; replaced whole on a reload. */
export interface HandlerDeps {
  zone: string
  /** "." + zone, so the per-query zone test joins no string. */
  zoneSuffix: string
  /** Whether the registry has been listed once: until then the zone cannot be answered truthfully. */
  loaded: () => boolean
  registry: Pick<Registry, 'atAddress'>
  hosts: StaticHosts
  answers: AnswerCache
  forwarder: Pick<Forwarder, 'routeFor' | 'allowed' | 'cached' | 'forward'>
  metrics?: DnsMetrics
  queryLog?: QueryLog
}

/** Who asked: `family` as node reports it ('IPv4' | 'IPv6'). */
export interface Client {
  address: string
  port: number
  family: string
}

/** The metrics zone of names in the service zone (see DnsMetrics.setZones). */
const SERVICE_ZONE = 0

/**
 * One query in, one reply out (undefined: stay silent, the packet was garbage). Names in
 * the zone, hosts entries and registered addresses' reverse names are answered here,
 * synchronously, from the answer cache; every other name is forwarded (a promise) when
 * the client may recurse.
 */
export function handleQuery(deps: HandlerDeps, request: Buffer, proto: 'udp' | 'tcp', client: Client): Buffer | undefined | Promise<Buffer | undefined> {
  const started = performance.now()
  if (!deps.queryLog) {
    // a repeated plain query: answered from its raw bytes, nothing decoded
    const plain = deps.answers.plainAnswer(request)
    if (plain) {
      const seconds = (performance.now() - started) / 1000
      deps.metrics?.observe(deps.answers.lastZone, proto === 'tcp' ? 1 : 0, client.family === 'IPv6' ? 1 : 0, request.readUInt16BE(request.length - 4), plain[3]! & 0xf, seconds, request.length, plain.length)
      return plain
    }
  }
  const parsed = parseQuery(request)
  if (!parsed.ok) {
    return parsed.id === undefined ? undefined : finish(deps, request, proto, client, undefined, errorReply(request, parsed.id, RCODE.FORMERR), started, deps.forwarder.routeFor('').metricsZone)
  }
  const query = parsed.query
  const limit = proto === 'udp' ? udpLimit(query) : TCP_LIMIT
  const inZone = query.name === deps.zone || query.name.endsWith(deps.zoneSuffix)
  if (inZone) {
    let reply: Buffer
    if (query.opcode !== 0) reply = errorReply(request, query.id, RCODE.NOTIMP, query)
    else if (query.edns && query.edns.version > 0) reply = errorReply(request, query.id, RCODE.BADVERS, query)
    else if (!deps.loaded()) reply = errorReply(request, query.id, RCODE.SERVFAIL, query) // never listed: no truthful answer yet
    else if (query.klass !== CLASS.IN && query.klass !== CLASS.ANY) reply = errorReply(request, query.id, RCODE.REFUSED, query) // the registry holds IN data only
    else reply = deps.answers.answer(query, limit, request)
    return finish(deps, request, proto, client, query, reply, started, SERVICE_ZONE)
  }
  const route = deps.forwarder.routeFor(query.name)
  let reply: Buffer
  if (query.opcode !== 0) reply = errorReply(request, query.id, RCODE.NOTIMP, query)
  else if (query.edns && query.edns.version > 0) reply = errorReply(request, query.id, RCODE.BADVERS, query)
  else if (deps.hosts.lookup(query.name) || (isReverseName(query.name) && isOurReverse(deps, query.name))) {
    reply = query.klass !== CLASS.IN && query.klass !== CLASS.ANY ? errorReply(request, query.id, RCODE.REFUSED, query) : deps.answers.answer(query, limit, request)
  } else if (!deps.forwarder.allowed(client.address)) reply = errorReply(request, query.id, RCODE.REFUSED, query)
  else {
    const hit = deps.forwarder.cached(query)
    if (hit) return finish(deps, request, proto, client, query, patchForwarded(hit, request, query, limit), started, route.metricsZone)
    // only forwarding waits; the rest stays synchronous (no promise per query)
    return deps.forwarder.forward(request, query, route).then((result) => {
      let forwarded: Buffer
      if ('refused' in result) forwarded = errorReply(request, query.id, RCODE.REFUSED, query)
      else if ('failed' in result) forwarded = errorReply(request, query.id, RCODE.SERVFAIL, query)
      else forwarded = patchForwarded(result.reply, request, query, limit)
      return finish(deps, request, proto, client, query, forwarded, started, route.metricsZone)
    })
  }
  return finish(deps, request, proto, client, query, reply, started, route.metricsZone)
}

/** Counts and logs a reply on its way out. A top-level function: a closure per query showed in profiles. */
function finish(deps: HandlerDeps, request: Buffer, proto: 'udp' | 'tcp', client: Client, query: Query | undefined, out: Buffer, started: number, zone: number): Buffer {
  const seconds = (performance.now() - started) / 1000
  const rcode = rcodeOf(out, query?.edns !== undefined)
  deps.metrics?.observe(zone, proto === 'tcp' ? 1 : 0, client.family === 'IPv6' ? 1 : 0, query ? query.type : 0, rcode, seconds, request.length, out.length)
  if (deps.queryLog && query) {
    deps.queryLog({
      client: client.address,
      port: client.port,
      id: query.id,
      type: typeName(query.type),
      class: classLabel(query.klass),
      name: `${query.name}.`,
      proto,
      size: request.length,
      do: query.edns?.dnssecOk ?? false,
      bufsize: query.edns ? query.edns.udpSize : 512,
      rcode: rcodeLabel(rcode),
      flags: flagNames(out.readUInt16BE(2)),
      rsize: out.length,
      duration: seconds,
    })
  }
  return out
}

/** `out` is the caller's own copy (the cache hands out copies): the client's id goes in place. */
function patchForwarded(out: Buffer, request: Buffer, query: Query, limit: number): Buffer {
  out.writeUInt16BE(query.id, 0)
  // cached under the lower-cased name: give this asker its own spelling back
  echoQuestionCase(out, request, query.questionEnd - 4)
  return out.length > limit ? truncateForwarded(out, request, query) : out
}

/** A reverse name of a registered address or a hosts entry's: answered here, not forwarded. */
function isOurReverse(deps: HandlerDeps, name: string): boolean {
  const address = addressOfReverseName(name)
  return address !== undefined && (deps.registry.atAddress(address) !== undefined || deps.hosts.namesAt(address) !== undefined)
}

function rcodeOf(out: Buffer, withOpt: boolean): number {
  let rcode = out[3]! & 0xf
  if (withOpt && rcode === 0 && out.length > 12) {
    // BADVERS lives in the OPT's extended rcode: the last 11 bytes of our own error replies
    const o = out.length - 11
    if (out[o] === 0 && out.readUInt16BE(o + 1) === 41) rcode |= out[o + 5]! << 4
  }
  return rcode
}
