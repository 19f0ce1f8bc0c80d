/**
 * The fast path's query reader: header, the one question and the EDNS OPT record,
 * read straight from the bytes without decoding the whole packet.
 */
export interface Query {
  id: number
  opcode: number
  recursionDesired: boolean
  /** Lower-cased, without the trailing dot. */
  name: string
  type: number
  klass: number
  /** Byte offset just past the question (for echoing it). */
  questionEnd: number
  edns?: {udpSize: number; version: number; dnssecOk: boolean}
}

export type ParseResult = {ok: true; query: Query} | {ok: false; id?: number; reason: 'garbage' | 'formerr'}

/** A name is at most 255 bytes on the wire, so its text fits in 255. */
const NAME_SCRATCH = Buffer.alloc(255)

export function parseQuery(buf: Buffer): ParseResult {
  if (buf.length < 12) return {ok: false, reason: 'garbage'}
  const id = buf.readUInt16BE(0)
  const flags = buf.readUInt16BE(2)
  if (flags & 0x8000) return {ok: false, reason: 'garbage'} // a response, not a query
  const opcode = (flags >> 11) & 0xf
  const qdcount = buf.readUInt16BE(4)
  const ancount = buf.readUInt16BE(6)
  const nscount = buf.readUInt16BE(8)
  const arcount = buf.readUInt16BE(10)
  const recursionDesired = (flags & 0x0100) !== 0
  if (opcode !== 0) return {ok: true, query: {id, opcode, recursionDesired, name: '', type: 0, klass: 0, questionEnd: 12}}
  if (qdcount !== 1 || ancount !== 0 || nscount !== 0) return {ok: false, id, reason: 'formerr'}
  // The name is copied into a scratch buffer (dots for length bytes, lower-cased) and
  // turned into a string in one call: a string per label cost more than the rest of
  // the fast path together.
  let offset = 12
  let length = 0
  for (;;) {
    if (offset >= buf.length) return {ok: false, id, reason: 'formerr'}
    const len = buf[offset]!
    if (len === 0) {
      offset += 1
      break
    }
    if (len > 63 || offset + 1 + len > buf.length || length + len + 1 > NAME_SCRATCH.length) return {ok: false, id, reason: 'formerr'}
    if (length > 0) NAME_SCRATCH[length++] = 0x2e
    for (let i = offset + 1, end = offset + 1 + len; i < end; i++) {
      const c = buf[i]!
      NAME_SCRATCH[length++] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c
    }
    offset += 1 + len
  }
  if (offset + 4 > buf.length) return {ok: false, id, reason: 'formerr'}
  const type = buf.readUInt16BE(offset)
  const klass = buf.readUInt16BE(offset + 2)
  const questionEnd = offset + 4
  const query: Query = {id, opcode, recursionDesired, name: NAME_SCRATCH.toString('latin1', 0, length), type, klass, questionEnd}
  offset = questionEnd
  for (let i = 0; i < arcount; i++) {
    const start = offset
    // the owner name: OPT's is the root; others may be compressed
    offset = skipName(buf, offset)
    if (offset < 0 || offset + 10 > buf.length) return {ok: false, id, reason: 'formerr'}
    const rrType = buf.readUInt16BE(offset)
    const rdLength = buf.readUInt16BE(offset + 8)
    if (rrType === 41) {
      if (buf[start] !== 0 || query.edns) return {ok: false, id, reason: 'formerr'}
      query.edns = {
        udpSize: Math.max(512, buf.readUInt16BE(offset + 2)),
        version: buf[offset + 5]!,
        dnssecOk: (buf.readUInt16BE(offset + 6) & 0x8000) !== 0,
      }
    }
    offset += 10 + rdLength
    if (offset > buf.length) return {ok: false, id, reason: 'formerr'}
  }
  return {ok: true, query}
}

export const RCODE = {NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16} as const
export const CLASS = {IN: 1, ANY: 255} as const
export const TYPE = {A: 1, NS: 2, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255} as const

const TYPE_NAMES: Record<number, string> = {1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 35: 'NAPTR', 41: 'OPT', 43: 'DS', 48: 'DNSKEY', 64: 'SVCB', 65: 'HTTPS', 252: 'AXFR', 255: 'ANY'}

/** A type's mnemonic, or TYPE<n> (RFC 3597) for the rest. */
export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`
}

/** A bare error reply: header + the question echoed (when readable) + OPT when the client sent one. */
export function errorReply(request: Buffer, id: number, rcode: number, query?: Query): Buffer {
  const question = query && query.questionEnd > 12 ? request.subarray(12, query.questionEnd) : Buffer.alloc(0)
  const withOpt = query?.edns !== undefined
  const out = Buffer.alloc(12 + question.length + (withOpt ? 11 : 0))
  out.writeUInt16BE(id, 0)
  const rd = query?.recursionDesired ? 0x0100 : 0
  const opcode = query ? (query.opcode & 0xf) << 11 : 0
  out.writeUInt16BE(0x8000 | opcode | rd | 0x0080 | (rcode & 0xf), 2)
  out.writeUInt16BE(question.length ? 1 : 0, 4)
  out.writeUInt16BE(withOpt ? 1 : 0, 10)
  question.copy(out, 12)
  if (withOpt) {
    const o = 12 + question.length
    out[o] = 0
    out.writeUInt16BE(41, o + 1)
    out.writeUInt16BE(1232, o + 3)
    out[o + 5] = (rcode >> 4) & 0xff // extended rcode
    out[o + 6] = 0
    out.writeUInt16BE(0, o + 7)
    out.writeUInt16BE(0, o + 9)
  }
  return out
}

/**
 * Rewrites the TTL of every record in a reply in place (the OPT pseudo-record keeps its
 * flags). Returns false, changing nothing more, when the packet does not parse.
 */
export function rewriteTtls(buf: Buffer, ttlOf: (ttl: number) => number): boolean {
  if (buf.length < 12) return false
  const qdcount = buf.readUInt16BE(4)
  const records = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10)
  let offset = 12
  for (let i = 0; i < qdcount; i++) {
    offset = skipName(buf, offset) + 4
    if (offset > buf.length) return false
  }
  for (let i = 0; i < records; i++) {
    offset = skipName(buf, offset)
    if (offset < 0 || offset + 10 > buf.length) return false
    if (buf.readUInt16BE(offset) !== TYPE.OPT) buf.writeUInt32BE(Math.max(0, Math.min(0x7fffffff, ttlOf(buf.readUInt32BE(offset + 4)))), offset + 4)
    offset += 10 + buf.readUInt16BE(offset + 8)
  }
  return offset <= buf.length
}

/** The offset just past a (possibly compressed) name, or -1. */
function skipName(buf: Buffer, offset: number): number {
  for (;;) {
    if (offset >= buf.length) return -1
    const len = buf[offset]!
    if (len === 0) return offset + 1
    if ((len & 0xc0) === 0xc0) return offset + 2
    offset += 1 + len
  }
}
