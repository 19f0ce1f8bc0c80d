import type {Answer} from 'dns-packet'
import {ipv4Value, parseIp} from '../net/ip.js'
import {CLASS, TYPE} from './wire.js'

/**
 * Writes the replies the server builds, with names compressed (RFC 1035 4.1.4) as
 * CoreDNS writes them: a name, or its tail, that the message already holds is a two-byte
 * pointer to it. A service's ten A records then take 16 bytes each instead of 44-50, and
 * fit the 512 bytes a client without EDNS accepts; uncompressed (as dns-packet writes),
 * they did not, and such clients (glibc's resolver by default) were sent a truncated
 * reply and had to ask again over TCP.
 *
 * Names are compressed where RFC 3597 allows it: owner names, and the names inside NS,
 * PTR and SOA data. An SRV target never is (RFC 2782), and is not pointed to either.
 */

/**
 * A reply as the server builds it; `flags` is the header's second word, QR and rcode
 * included. The question's name is written from `wire`, the query's own bytes, when given:
 * a name read from a query may not survive its text form (a label holding a dot), and
 * the question must go back as it came.
 */
export interface ReplyMessage {
  flags: number
  question: {name: string; type: number; wire?: Buffer}
  answers: readonly Answer[]
  authorities: readonly Answer[]
  additionals: readonly Answer[]
  /** The OPT record to end the additionals with (a query that had EDNS gets one back). */
  opt?: {udpPayloadSize: number}
}

/** The largest message: what TCP's two-byte length can carry. */
export const MAX_MESSAGE_BYTES = 65_535

const TYPE_CODES: Record<string, number> = {A: TYPE.A, NS: TYPE.NS, SOA: TYPE.SOA, PTR: TYPE.PTR, TXT: TYPE.TXT, AAAA: TYPE.AAAA, SRV: TYPE.SRV}
const POINTER_LIMIT = 0x4000

/** Thrown past the end of the buffer: the message does not fit. */
const OVERFLOW = new Error('message too big')

/**
 * Data no DNS message can carry: a label over 63 bytes, a name over 255, an address that
 * is not one. Registrations written to etcd by other tools may hold such values; the
 * caller answers SERVFAIL, as CoreDNS does when a reply does not pack.
 */
export class UnencodableError extends Error {}

/** Most bytes a name takes on the wire (RFC 1035 2.3.4). */
const MAX_NAME_BYTES = 255

/**
 * Writes `message` into `out` from its start and returns its length, or -1 when it does
 * not fit (the caller truncates). Throws UnencodableError for data no message can carry,
 * and a plain Error for a record of a type the server never builds (a bug).
 */
export function writeMessage(message: ReplyMessage, out: Buffer): number {
  const writer = new Writer(out)
  try {
    writer.u16(0) // id: patched per asker
    writer.u16(message.flags)
    writer.u16(1)
    writer.u16(message.answers.length)
    writer.u16(message.authorities.length)
    writer.u16(message.additionals.length + (message.opt ? 1 : 0))
    const {question} = message
    if (question.wire) writer.wireName(question.wire, question.name)
    else writer.name(question.name, true)
    writer.u16(question.type)
    writer.u16(CLASS.IN)
    for (const record of message.answers) writer.record(record)
    for (const record of message.authorities) writer.record(record)
    for (const record of message.additionals) writer.record(record)
    if (message.opt) {
      writer.u8(0) // the root
      writer.u16(TYPE.OPT)
      writer.u16(message.opt.udpPayloadSize)
      writer.u32(0) // extended rcode, version 0, no flags
      writer.u16(0) // no options
    }
  } catch (error) {
    if (error === OVERFLOW) return -1
    throw error
  }
  return writer.offset
}

class Writer {
  offset = 0
  /** Where each name (and each tail of one) written so far starts, by its text. */
  private readonly names = new Map<string, number>()

  constructor(private readonly out: Buffer) {}

  private room(bytes: number): void {
    if (this.offset + bytes > this.out.length) throw OVERFLOW
  }

  u8(value: number): void {
    this.room(1)
    this.out[this.offset++] = value
  }

  u16(value: number): void {
    // a port or weight out of range, from a registration another tool wrote
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new UnencodableError(`dns: cannot encode ${value} in 16 bits`)
    this.room(2)
    this.out.writeUInt16BE(value, this.offset)
    this.offset += 2
  }

  u32(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new UnencodableError(`dns: cannot encode ${value} in 32 bits`)
    this.room(4)
    this.out.writeUInt32BE(value, this.offset)
    this.offset += 4
  }

  /**
   * A name ("a.b.c", no trailing dot; "" or "." for the root). Compressed: its longest
   * tail written before becomes a pointer. Either way its own tails are remembered for
   * the names after it, unless it is not to be pointed to (an SRV target). Tails match
   * as written: the server's names are lower-cased already, and one that differs only in
   * case is written out, which is never wrong.
   */
  name(text: string, compress: boolean): void {
    const name = text === '.' ? '' : text.endsWith('.') ? text.slice(0, -1) : text
    // Names decoded from queries are latin1 (one char per byte): written back the same way.
    const encoding = /[^\x00-\xff]/.test(name) ? 'utf8' : 'latin1'
    const wireLength = (encoding === 'latin1' ? name.length : Buffer.byteLength(name)) + (name ? 2 : 1)
    if (wireLength > MAX_NAME_BYTES) throw new UnencodableError(`dns: cannot encode the name ${JSON.stringify(name)}: ${wireLength} bytes`)
    let start = 0
    while (start < name.length) {
      if (compress) {
        const tail = start ? name.slice(start) : name
        const earlier = this.names.get(tail)
        if (earlier !== undefined) return this.u16(0xc000 | earlier)
        if (this.offset < POINTER_LIMIT) this.names.set(tail, this.offset)
      }
      let end = name.indexOf('.', start)
      if (end < 0) end = name.length
      this.label(name.slice(start, end), encoding, name)
      start = end + 1
    }
    this.u8(0)
  }

  /**
   * A name as a query spelled it on the wire (no pointers). Its tails are remembered for
   * the names after it only when its labels are those of `name`, its text: no label
   * holds a dot.
   */
  wireName(wire: Buffer, name: string): void {
    this.room(wire.length)
    wire.copy(this.out, this.offset)
    if (sameLabels(wire, name)) {
      for (let at = 0, start = 0; wire[at]! !== 0; start += wire[at]! + 1, at += wire[at]! + 1) {
        if (this.offset + at < POINTER_LIMIT) this.names.set(start ? name.slice(start) : name, this.offset + at)
      }
    }
    this.offset += wire.length
  }

  private label(label: string, encoding: 'utf8' | 'latin1', name: string): void {
    const length = encoding === 'latin1' ? label.length : Buffer.byteLength(label)
    if (length < 1 || length > 63) throw new UnencodableError(`dns: cannot encode the name ${JSON.stringify(name)}: a label of ${length} bytes`)
    this.room(1 + length)
    this.out[this.offset] = length
    this.out.write(label, this.offset + 1, encoding)
    this.offset += 1 + length
  }

  record(record: Answer): void {
    const type = TYPE_CODES[record.type]
    if (type === undefined) throw new Error(`dns: cannot encode a ${record.type} record`)
    this.name(record.name, true)
    this.u16(type)
    this.u16(CLASS.IN)
    this.u32((record as {ttl?: number}).ttl ?? 0)
    const lengthAt = this.offset
    this.u16(0)
    const data = (record as {data: unknown}).data
    switch (type) {
      case TYPE.A:
        this.ipv4(data as string)
        break
      case TYPE.AAAA:
        this.ipv6(data as string)
        break
      case TYPE.NS:
      case TYPE.PTR:
        this.name(data as string, true)
        break
      case TYPE.SRV: {
        const srv = data as {priority?: number; weight?: number; port: number; target: string}
        this.u16(srv.priority ?? 0)
        this.u16(srv.weight ?? 0)
        this.u16(srv.port)
        this.name(srv.target, false)
        break
      }
      case TYPE.SOA: {
        const soa = data as {mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number}
        this.name(soa.mname, true)
        this.name(soa.rname, true)
        for (const value of [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum]) this.u32(value)
        break
      }
      case TYPE.TXT:
        for (const text of Array.isArray(data) ? data : [data]) this.characterString(text as string | Buffer)
        break
    }
    this.out.writeUInt16BE(this.offset - lengthAt - 2, lengthAt)
  }

  private ipv4(text: string): void {
    const value = ipv4Value(text)
    if (value === undefined) throw new UnencodableError(`dns: cannot encode the A record data ${JSON.stringify(text)}`)
    this.u32(value)
  }

  private ipv6(text: string): void {
    const ip = parseIp(text)
    if (ip?.family !== 6) throw new UnencodableError(`dns: cannot encode the AAAA record data ${JSON.stringify(text)}`)
    this.room(16)
    for (let i = 15; i >= 0; i--) this.out[this.offset + 15 - i] = Number((ip.value >> BigInt(i * 8)) & 0xffn)
    this.offset += 16
  }

  private characterString(text: string | Buffer): void {
    const bytes = typeof text === 'string' ? Buffer.from(text) : text
    if (bytes.length > 255) throw new UnencodableError(`dns: cannot encode a TXT string of ${bytes.length} bytes`)
    this.u8(bytes.length)
    this.room(bytes.length)
    bytes.copy(this.out, this.offset)
    this.offset += bytes.length
  }
}

/** Whether a name's wire bytes (uncompressed) are the labels of its text: none holds a dot. */
function sameLabels(wire: Buffer, name: string): boolean {
  if (wire.length !== (name ? name.length + 2 : 1)) return false
  let at = 0
  while (at < wire.length && wire[at] !== 0) {
    const end = at + 1 + wire[at]!
    if (end > wire.length) return false
    for (let i = at + 1; i < end; i++) if (wire[i] === 0x2e) return false
    at = end
  }
  return at === wire.length - 1
}
