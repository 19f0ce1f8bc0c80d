import {performance} from 'node:perf_hooks'
import type {Logger} from '../lib/log.js'
import type {AnswerCache} from './answer-cache.js'
import {TCP_LIMIT, truncateForwarded, udpLimit} from './edns.js'
import type {Forwarder} from './forward.js'
import {type DnsMetrics, rcodeLabel, typeLabel} from './metrics.js'
import {echoQuestionCase} from './plain-question.js'
import {isReverseName} from './records.js'
import type {ServiceIndex} from './index.js'
import {CLASS, type Query, RCODE, errorReply, parseQuery} from './wire.js'

export interface HandlerDeps {
  zone: string
  /** "." + zone, so the per-query zone test joins no string. */
  zoneSuffix: string
  index: ServiceIndex
  answers: AnswerCache
  forwarder: Forwarder
  metrics?: DnsMetrics
  queryLog?: Logger
}

/** Who asked: `family` as node reports it ('IPv4' | 'IPv6'). */
export interface Client {
  address: string
  port: number
  family: string
}

/** One query in, one reply out (undefined: stay silent, the packet was garbage). */
export function handleQuery(deps: HandlerDeps, request: Buffer, proto: 'udp' | 'tcp', client: Client): Buffer | undefined | Promise<Buffer | undefined> {
  const started = performance.now()
  if (!deps.queryLog) {
    // a repeated plain query: answered from its raw bytes, nothing decoded
    const plain = deps.answers.plainAnswer(request)
    if (plain) {
      deps.metrics?.observe(proto, client.family === 'IPv6', request.readUInt16BE(request.length - 4), plain[3]! & 0xf, (performance.now() - started) / 1000)
      return plain
    }
  }
  const parsed = parseQuery(request)
  if (!parsed.ok) {
    return parsed.id === undefined ? undefined : finish(deps, request, proto, client, undefined, errorReply(request, parsed.id, RCODE.FORMERR), started)
  }
  const query = parsed.query
  const limit = proto === 'udp' ? udpLimit(query) : TCP_LIMIT
  let reply: Buffer
  let zoneName = false
  if (query.opcode !== 0) reply = errorReply(request, query.id, RCODE.NOTIMP, query)
  else if (query.edns && query.edns.version > 0) reply = errorReply(request, query.id, RCODE.BADVERS, query)
  else if ((zoneName = query.name === deps.zone || query.name.endsWith(deps.zoneSuffix)) && !deps.index.loaded) reply = errorReply(request, query.id, RCODE.SERVFAIL, query) // never listed: no truthful answer yet
  else if (zoneName && query.klass !== CLASS.IN && query.klass !== CLASS.ANY) reply = errorReply(request, query.id, RCODE.REFUSED, query) // the registry holds IN data only
  else if (zoneName || (isReverseName(query.name) && isOurReverse(deps, query.name))) reply = deps.answers.answer(query, limit, request)
  else if (!deps.forwarder.allowed(client.address)) reply = errorReply(request, query.id, RCODE.REFUSED, query)
  else {
    const hit = deps.forwarder.cached(query)
    if (hit) return finish(deps, request, proto, client, query, patchForwarded(hit, request, query, limit), started)
    // only forwarding waits; zone answers stay synchronous (no promise per query)
    return deps.forwarder.forward(request, query).then((result) => {
      let forwarded: Buffer
      if (result.refused) forwarded = errorReply(request, query.id, RCODE.REFUSED, query)
      else if (!result.reply) forwarded = errorReply(request, query.id, RCODE.SERVFAIL, query)
      else forwarded = patchForwarded(result.reply, request, query, limit)
      return finish(deps, request, proto, client, query, forwarded, started)
    })
  }
  return finish(deps, request, proto, client, query, reply, started)
}

/** Counts and logs a reply on its way out. A top-level function: a closure per query showed in profiles. */
function finish(deps: HandlerDeps, request: Buffer, proto: 'udp' | 'tcp', client: Client, query: Query | undefined, out: Buffer, started: number): Buffer {
  const seconds = (performance.now() - started) / 1000
  const rcode = rcodeOf(out, query?.edns !== undefined)
  deps.metrics?.observe(proto, client.family === 'IPv6', query ? query.type : 0, rcode, seconds)
  if (deps.queryLog && query) {
    const flags = out.readUInt16BE(2)
    // CoreDNS's log plugin format
    deps.queryLog.info(
      `[INFO] ${client.address}:${client.port} - ${query.id} "${typeLabel(query.type)} IN ${query.name}. ${proto} ${request.length} ${query.edns?.dnssecOk ? 'true' : 'false'} ${query.edns ? query.edns.udpSize : 512}" ${rcodeLabel(rcode)} ${flagNames(flags)} ${out.length} ${seconds.toFixed(6)}s`,
    )
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

function isOurReverse(deps: HandlerDeps, name: string): boolean {
  return deps.answers.hasReverse(name)
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

function flagNames(flags: number): string {
  const names = ['qr', 'aa', 'tc', 'rd', 'ra'].filter((_, i) => flags & [0x8000, 0x0400, 0x0200, 0x0100, 0x0080][i]!)
  return names.join(',')
}
