/**
 * Reads etcd's RangeResponse straight off the wire into the object etcd3 expects (what
 * protobufjs's decode then toObject with etcd3's options gives: 64-bit numbers as
 * decimal strings, defaults filled in, keys and values as Buffers sharing the reply).
 *
 * A list of 100,000 registrations is some 20 pages of RangeResponse, and the general
 * path spent more on the conversion than on the decoding: a Long per 64-bit field turned
 * into a string, and two empty Buffers made per key-value as defaults only to be
 * replaced. This reader makes each field once. It is checked against protobufjs and the
 * real loader in test/unit/etcd-proto-package.test.ts.
 */

export interface WireKeyValue {
  key: Buffer
  create_revision: string
  mod_revision: string
  version: string
  value: Buffer
  lease: string
}

export interface WireRangeResponse {
  header: {cluster_id: string; member_id: string; revision: string; raft_term: string} | null
  kvs: WireKeyValue[]
  more: boolean
  count: string
}

const EMPTY = Buffer.alloc(0)

/**
 * The decimal text of 64-bit values too wide for a double, by their top and bottom bits,
 * unsigned and signed: a fleet's 100,000 health records name a thousand prober leases,
 * and BigInt arithmetic for each was most of the cost of reading them.
 */
const WIDE_TEXT = [new Map<number, Map<number, string>>(), new Map<number, Map<number, string>>()] as const
/** Texts kept before the cache starts over (bounded whatever the replies hold). */
const MAX_WIDE_TEXTS = 10_000
let wideTextCount = 0

/** A cursor over one message's bytes. */
class Reader {
  pos: number
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start
  }

  /** A varint that fits 32 bits unsigned (tags and lengths); a wider one only fails the bounds checks. */
  uint32(): number {
    let value = 0
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.end || shift >= 70) throw new RangeError('bad varint')
      const byte = this.buf[this.pos++]!
      value += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) return value
    }
  }

  /** A 64-bit varint as decimal text, signed (int64) or not (uint64). */
  long(signed: boolean): string {
    let low = 0 // the first 49 bits, exact as a double
    let high = 0 // the bits above them
    let shift = 0
    const start = this.pos
    for (;;) {
      if (this.pos >= this.end) throw new RangeError('truncated varint')
      const byte = this.buf[this.pos++]!
      if (shift < 49) low += (byte & 0x7f) * 2 ** shift
      else high += (byte & 0x7f) * 2 ** (shift - 49)
      shift += 7
      if (byte < 0x80) break
      if (shift >= 70) throw new RangeError('varint too long')
    }
    if (shift <= 49) return String(low)
    // Up to 63 bits, positive (lease ids: every subnet lease has its own): exact in two
    // doubles, as 2^49 = 5629499 * 10^8 + 53421312 and the sum below stays under 2^53.
    if (high < 2 ** 14) {
      const belowHigh = high * 53421312 + low
      const units = belowHigh % 1e8
      const hundredMillions = high * 5629499 + (belowHigh - units) / 1e8
      return hundredMillions === 0 ? String(units) : `${hundredMillions}${String(units).padStart(8, '0')}`
    }
    // Negative numbers and varints past 64 bits: exactly through BigInt, once per value.
    const known = WIDE_TEXT[signed ? 1 : 0]
    let byLow = known.get(high)
    const cached = byLow?.get(low)
    if (cached !== undefined) return cached
    let big = 0n
    for (let i = start, s = 0n; i < this.pos; i++, s += 7n) big |= BigInt(this.buf[i]! & 0x7f) << s
    const text = String(signed ? BigInt.asIntN(64, big) : BigInt.asUintN(64, big))
    if (wideTextCount++ >= MAX_WIDE_TEXTS) {
      for (const map of WIDE_TEXT) map.clear()
      wideTextCount = 0
      byLow = undefined
    }
    if (!byLow) known.set(high, (byLow = new Map()))
    byLow.set(low, text)
    return text
  }

  bytes(): Buffer {
    const length = this.uint32()
    const start = this.pos
    this.pos += length
    if (this.pos > this.end) throw new RangeError('truncated bytes')
    return length === 0 ? EMPTY : this.buf.subarray(start, this.pos)
  }

  /** A length-delimited field's extent, for a nested message. */
  nested(): Reader {
    const length = this.uint32()
    const start = this.pos
    this.pos += length
    if (this.pos > this.end) throw new RangeError('truncated message')
    return new Reader(this.buf, start, this.pos)
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.long(false)
        return
      case 1:
        this.pos += 8
        break
      case 2: {
        const length = this.uint32()
        this.pos += length
        break
      }
      case 5:
        this.pos += 4
        break
      case 3:
        // A group (long deprecated, never sent by etcd): skipped to its end, as protobufjs does.
        for (;;) {
          const tag = this.uint32()
          if ((tag & 7) === 4) break
          this.skip(tag & 7)
        }
        break
      default:
        throw new RangeError(`unexpected wire type ${wireType}`)
    }
    if (this.pos > this.end) throw new RangeError('truncated field')
  }
}

function readHeader(r: Reader): NonNullable<WireRangeResponse['header']> {
  const header = {cluster_id: '0', member_id: '0', revision: '0', raft_term: '0'}
  while (r.pos < r.end) {
    const tag = r.uint32()
    const field = tag >>> 3
    const wireType = tag & 7
    if (wireType !== 0) r.skip(wireType)
    else if (field === 1) header.cluster_id = r.long(false)
    else if (field === 2) header.member_id = r.long(false)
    else if (field === 3) header.revision = r.long(true)
    else if (field === 4) header.raft_term = r.long(false)
    else r.skip(0)
  }
  return header
}

function readKeyValue(r: Reader): WireKeyValue {
  const kv: WireKeyValue = {key: EMPTY, create_revision: '0', mod_revision: '0', version: '0', value: EMPTY, lease: '0'}
  while (r.pos < r.end) {
    const tag = r.uint32()
    const field = tag >>> 3
    const wireType = tag & 7
    if (wireType === 2 && field === 1) kv.key = r.bytes()
    else if (wireType === 2 && field === 5) kv.value = r.bytes()
    else if (wireType !== 0) r.skip(wireType)
    else if (field === 2) kv.create_revision = r.long(true)
    else if (field === 3) kv.mod_revision = r.long(true)
    else if (field === 4) kv.version = r.long(true)
    else if (field === 6) kv.lease = r.long(true)
    else r.skip(0)
  }
  return kv
}

export function readRangeResponse(buf: Buffer): WireRangeResponse {
  const response: WireRangeResponse = {header: null, kvs: [], more: false, count: '0'}
  const r = new Reader(buf, 0, buf.length)
  while (r.pos < r.end) {
    const tag = r.uint32()
    const field = tag >>> 3
    const wireType = tag & 7
    if (wireType === 2 && field === 1) response.header = readHeader(r.nested())
    else if (wireType === 2 && field === 2) response.kvs.push(readKeyValue(r.nested()))
    // A bool is read as 32 bits, as protobufjs reads it.
    else if (wireType === 0 && field === 3) response.more = r.uint32() % 2 ** 32 !== 0
    else if (wireType === 0 && field === 4) response.count = r.long(true)
    else r.skip(wireType)
  }
  return response
}
