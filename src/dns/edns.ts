import type {Query} from './wire.js'

/** The largest UDP reply a client accepts: 512 without EDNS, else its advertised size (capped). */
export function udpLimit(query: Query): number {
  return query.edns ? Math.min(query.edns.udpSize, 4096) : 512
}

export const TCP_LIMIT = 65_535

/** A forwarded reply too big for the client: header + question only, with TC set. */
export function truncateForwarded(reply: Buffer, request: Buffer, query: Query): Buffer {
  const question = request.subarray(12, query.questionEnd)
  const out = Buffer.alloc(12 + question.length)
  reply.copy(out, 0, 0, 4)
  out.writeUInt16BE(out.readUInt16BE(2) | 0x0200, 2)
  out.writeUInt16BE(1, 4)
  question.copy(out, 12)
  return out
}
