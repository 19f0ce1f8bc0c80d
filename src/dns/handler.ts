import type {Logger} from '../lib/log.js'
import type {AnswerCache} from './answer-cache.js'
import {TCP_LIMIT, truncateForwarded, udpLimit} from './edns.js'
import type {Forwarder} from './forward.js'
import type {DnsMetrics} from './metrics.js'
import {inZone, isReverseName} from './records.js'
import type {ServiceIndex} from './index.js'
import {type Query, RCODE, errorReply, parseQuery} from './wire.js'

export interface HandlerDeps {
  zone: string
  index: ServiceIndex
  answers: AnswerCache
  forwarder: Forwarder
  metrics?: DnsMetrics
  queryLog?: Logger
}

const TYPE_NAMES: Record<number, string> = {1: 'A', 2: 'NS', 6: 'SOA', 12: 'PTR', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 255: 'ANY'}

/** One query in, one reply out (undefined: stay silent, the packet was garbage). */
export function handleQuery(deps: HandlerDeps, request: Buffer, proto: 'udp' | 'tcp', client: {address: string; port: number}): Buffer | undefined | Promise<Buffer | undefined> {
  const started = process.hrtime.bigint()
  const parsed = parseQuery(request)
  if (!parsed.ok) {
    return parsed.id === undefined ? undefined : finish(errorReply(request, parsed.id, RCODE.FORMERR))
  }
  const query = parsed.query
  const limit = proto === 'udp' ? udpLimit(query) : TCP_LIMIT
  let reply: Buffer
  let zoneName = false
  if (query.opcode !== 0) reply = errorReply(request, query.id, RCODE.NOTIMP, query)
  else if (query.edns && query.edns.version > 0) reply = errorReply(request, query.id, RCODE.BADVERS, query)
  else if ((zoneName = inZone(query.name, deps.zone)) && !deps.index.loaded) reply = errorReply(request, query.id, RCODE.SERVFAIL, query) // never listed: no truthful answer yet
  else if (zoneName || (isReverseName(query.name) && isOurReverse(deps, query.name))) reply = deps.answers.answer(query, limit)
  else if (!deps.forwarder.allowed(client.address)) reply = errorReply(request, query.id, RCODE.REFUSED, query)
  else {
    const hit = deps.forwarder.cached(query)
    if (hit) return finish(patchForwarded(hit, request, query, limit))
    // only forwarding waits; zone answers stay synchronous (no promise per query)
    return deps.forwarder.forward(request, query).then((result) => {
      let forwarded: Buffer
      if (result.refused) forwarded = errorReply(request, query.id, RCODE.REFUSED, query)
      else if (!result.reply) forwarded = errorReply(request, query.id, RCODE.SERVFAIL, query)
      else forwarded = patchForwarded(result.reply, request, query, limit)
      return finish(forwarded)
    })
  }
  return finish(reply)

  function finish(out: Buffer): Buffer {
    const rcode = (out.readUInt16BE(2) & 0xf) | (parsed.ok && parsed.query.edns ? 0 : 0)
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const type = parsed.ok ? (TYPE_NAMES[parsed.query.type] ?? 'other') : 'other'
    deps.metrics?.observe(proto, client.address.includes(':') && !client.address.startsWith('::ffff:') ? '2' : '1', type, rcodeName(out, parsed.ok ? parsed.query.edns !== undefined : false), seconds)
    if (deps.queryLog && parsed.ok) {
      const q = parsed.query
      const flags = out.readUInt16BE(2)
      // CoreDNS's log plugin format
      deps.queryLog.info(
        `[INFO] ${client.address}:${client.port} - ${q.id} "${type} IN ${q.name}. ${proto} ${request.length} ${q.edns?.dnssecOk ? 'true' : 'false'} ${q.edns ? q.edns.udpSize : 512}" ${rcodeName(out, q.edns !== undefined)} ${flagNames(flags)} ${out.length} ${seconds.toFixed(6)}s`,
      )
    }
    void rcode
    return out
  }
}

/** `out` is the caller's own copy (the cache hands out copies): the client's id goes in place. */
function patchForwarded(out: Buffer, request: Buffer, query: Query, limit: number): Buffer {
  out.writeUInt16BE(query.id, 0)
  return out.length > limit ? truncateForwarded(out, request, query) : out
}

function isOurReverse(deps: HandlerDeps, name: string): boolean {
  return deps.answers.hasReverse(name)
}

const RCODE_NAMES: Record<number, string> = {0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS'}

function rcodeName(out: Buffer, withOpt: boolean): string {
  let rcode = out.readUInt16BE(2) & 0xf
  if (withOpt && rcode === 0 && out.length > 12) {
    // BADVERS lives in the OPT's extended rcode: the last 11 bytes of our own error replies
    const o = out.length - 11
    if (out[o] === 0 && out.readUInt16BE(o + 1) === 41) rcode |= out[o + 5]! << 4
  }
  return RCODE_NAMES[rcode] ?? String(rcode)
}

function flagNames(flags: number): string {
  const names = ['qr', 'aa', 'tc', 'rd', 'ra'].filter((_, i) => flags & [0x8000, 0x0400, 0x0200, 0x0100, 0x0080][i]!)
  return names.join(',')
}
