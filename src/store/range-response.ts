import type {StoredValue} from './store.js'

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
 *
 * The key-values themselves are made only when `kvs` is first read. A list reads a page
 * with rangePage() instead, which makes each StoredValue straight from the reply's bytes
 * when its consumer reaches it: a page of 20,000 key-values as objects (each with two
 * Buffers and four decimal strings) lived while the next page was read, long enough to
 * be copied out of V8's young generation, and all of it was garbage a moment later.
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
 * The decimal text of 64-bit values too wide for a double, by their top and bottom bits:
 * read unsigned, read signed, and positive below 2^63 (the same either way). A fleet's
 * 100,000 health records name a thousand prober leases, and working out the text of each
 * anew was most of the cost of reading them.
 */
const WIDE_TEXT = [new Map<number, Map<number, string>>(), new Map<number, Map<number, string>>(), new Map<number, Map<number, string>>()] as const
/** Texts kept before the cache starts over (bounded whatever the replies hold). */
const MAX_WIDE_TEXTS = 10_000
let wideTextCount = 0

/** 2^(7 * i): the weight of a varint's i-th group of seven bits (a table, not `**`, which V8 makes a call). */
const GROUP_WEIGHT: readonly number[] = Array.from({length: 10}, (_, i) => 2 ** (7 * i))

/** A cursor over one message's bytes. */
class Reader {
  pos: number
  constructor(
    readonly buf: Buffer,
    start: number,
    public end: number,
  ) {
    this.pos = start
  }

  /** An int64 varint as a number: what Number() makes of long(true)'s text, without the text below 2^49. */
  number(): number {
    const start = this.pos
    let value = 0
    for (let group = 0; group < 7; group++) {
      if (this.pos >= this.end) throw new RangeError('truncated varint')
      const byte = this.buf[this.pos++]!
      value += (byte & 0x7f) * GROUP_WEIGHT[group]!
      if (byte < 0x80) return value
    }
    this.pos = start
    return Number(this.long(true))
  }

  /**
   * A varint that fits 32 bits unsigned (tags and lengths); a wider one only fails the
   * bounds checks. Below 2^28 (every tag and length etcd sends) it is made with integer
   * operations only, so it stays a small integer to V8: a power of two from `**` made
   * every length a double, and every page's layout an array of doubles, twice the memory.
   */
  uint32(): number {
    let value = 0
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= this.end) throw new RangeError('bad varint')
      const byte = this.buf[this.pos++]!
      value |= (byte & 0x7f) << shift
      if (byte < 0x80) return value
    }
    return this.wideUint32(value)
  }

  /** uint32() past its fourth byte: `low` is what the first four made. */
  private wideUint32(low: number): number {
    let value = low
    for (let group = 4; ; group++) {
      if (this.pos >= this.end || group >= 10) throw new RangeError('bad varint')
      const byte = this.buf[this.pos++]!
      value += (byte & 0x7f) * GROUP_WEIGHT[group]!
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
      if (shift < 49) low += (byte & 0x7f) * GROUP_WEIGHT[shift / 7]!
      else high += (byte & 0x7f) * GROUP_WEIGHT[(shift - 49) / 7]!
      shift += 7
      if (byte < 0x80) break
      if (shift >= 70) throw new RangeError('varint too long')
    }
    if (shift <= 49) return String(low)
    // Positive values of 50 to 63 bits (lease ids) read the same signed or not; the others
    // (negative, or past 64 bits) are remembered apart for each reading.
    const positive = high < 2 ** 14
    const known = WIDE_TEXT[positive ? 2 : signed ? 1 : 0]
    let byLow = known.get(high)
    const cached = byLow?.get(low)
    if (cached !== undefined) return cached
    let text: string
    if (positive) {
      // Exact in two doubles, as 2^49 = 5629499 * 10^8 + 53421312 and the sum below stays under 2^53.
      const belowHigh = high * 53421312 + low
      const units = belowHigh % 1e8
      const hundredMillions = high * 5629499 + (belowHigh - units) / 1e8
      text = hundredMillions === 0 ? String(units) : `${hundredMillions}${String(units).padStart(8, '0')}`
    } else {
      // Exactly through BigInt, once per value.
      let big = 0n
      for (let i = start, s = 0n; i < this.pos; i++, s += 7n) big |= BigInt(this.buf[i]! & 0x7f) << s
      text = String(signed ? BigInt.asIntN(64, big) : BigInt.asUintN(64, big))
    }
    if (wideTextCount++ >= MAX_WIDE_TEXTS) {
      for (const map of WIDE_TEXT) map.clear()
      wideTextCount = 0
      byLow = undefined
    }
    if (!byLow) known.set(high, (byLow = new Map()))
    byLow.set(low, text)
    return text
  }

  /** Past a varint, as long() reads it, without making its value. */
  skipVarint(): void {
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.end) throw new RangeError('truncated varint')
      if (this.buf[this.pos++]! < 0x80) return
      if (shift + 7 >= 70) throw new RangeError('varint too long')
    }
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
        this.skipVarint()
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

/** Numbers noted for each key-value of a reply: where it lies, where its key lies, where its value lies. */
const LAYOUT_WIDTH = 6

/**
 * Where each key-value of a reply lies in its bytes, found by the walk that checks it:
 * LAYOUT_WIDTH numbers each, its start and end, its key's start and end, and its
 * value's start and end (0, 0 for an absent one: empty, its default). An array made
 * once at the size the reply needs (its key-values counted first, which costs little):
 * grown as it was filled, the 120,000 numbers of a page of 20,000 key-values were
 * copied into fresh memory of V8's large-object space at each growth, which cost twice
 * the walk itself. (A typed array was faster still, but its memory came from the C
 * heap, which then kept 20-35 MB more in `dns serve`'s first worker.)
 */
interface KeyValueLayout {
  buf: Buffer
  count: number
  layout: number[]
}

/**
 * Where a reply keeps its layout: a registered symbol, because the bundled etcd client
 * (dist/vendor/etcd3.cjs) carries its own copy of this module, and the store reads the
 * replies with this one.
 */
const SPANS = Symbol.for('cnet.store.rangeResponse.keyValueSpans')

/**
 * Walks the key-value in [r.pos, end) without making any of its fields, noting where it,
 * its key and its value lie (the last key and value, as protobufjs reads a repeated
 * field) at `at` in the layout: a reply that is not well formed fails here, as the whole
 * reply. Leaves r at `end`.
 */
function checkKeyValue(r: Reader, end: number, layout: number[], at: number): void {
  const outerEnd = r.end
  r.end = end
  layout[at] = r.pos
  layout[at + 1] = end
  let keyStart = 0
  let keyEnd = 0
  let valueStart = 0
  let valueEnd = 0
  while (r.pos < end) {
    const tag = r.uint32()
    const field = tag >>> 3
    if ((tag & 7) === 2 && (field === 1 || field === 5)) {
      const length = r.uint32()
      if (field === 1) {
        keyStart = r.pos
        keyEnd = r.pos + length
      } else {
        valueStart = r.pos
        valueEnd = r.pos + length
      }
      r.pos += length
      if (r.pos > end) throw new RangeError('truncated field')
    } else r.skip(tag & 7)
  }
  layout[at + 2] = keyStart
  layout[at + 3] = keyEnd
  layout[at + 4] = valueStart
  layout[at + 5] = valueEnd
  r.end = outerEnd
}

/**
 * How many key-values a Range reply holds, by its top-level fields alone; what is cut
 * short ends the count (the walk after it fails on it).
 */
function countKeyValues(buf: Buffer): number {
  const r = new Reader(buf, 0, buf.length)
  let count = 0
  try {
    while (r.pos < r.end) {
      const tag = r.uint32()
      if (tag === KEY_VALUE_TAG) count++
      r.skip(tag & 7)
    }
  } catch {
    // counted so far
  }
  return count
}

/** Field 2 of RangeResponse (kvs), length-delimited. */
const KEY_VALUE_TAG = (2 << 3) | 2

export function readRangeResponse(buf: Buffer): WireRangeResponse {
  let header: WireRangeResponse['header'] = null
  let more = false
  let count = '0'
  // Small integers only, so V8 keeps it as a plain array of them; a miscount (a reply the
  // walk then refuses) just lengthens it.
  const layout = new Array<number>(LAYOUT_WIDTH * countKeyValues(buf)).fill(0)
  let kvCount = 0
  const r = new Reader(buf, 0, buf.length)
  while (r.pos < r.end) {
    const tag = r.uint32()
    const field = tag >>> 3
    const wireType = tag & 7
    if (wireType === 2 && field === 1) header = readHeader(r.nested())
    else if (wireType === 2 && field === 2) {
      const length = r.uint32()
      const end = r.pos + length
      if (end > r.end) throw new RangeError('truncated message')
      checkKeyValue(r, end, layout, LAYOUT_WIDTH * kvCount++)
    }
    // A bool is read as 32 bits, as protobufjs reads it.
    else if (wireType === 0 && field === 3) more = r.uint32() % 2 ** 32 !== 0
    else if (wireType === 0 && field === 4) count = r.long(true)
    else r.skip(wireType)
  }
  const response = {header, more, count} as WireRangeResponse
  const noted: KeyValueLayout = {buf, count: kvCount, layout}
  // An own enumerable property, as protobufjs gives it, made on first read.
  Object.defineProperty(response, 'kvs', {
    enumerable: true,
    configurable: true,
    get(): WireKeyValue[] {
      const kvs: WireKeyValue[] = []
      for (let i = 0; i < kvCount; i++) kvs.push(readKeyValue(new Reader(buf, layout[LAYOUT_WIDTH * i]!, layout[LAYOUT_WIDTH * i + 1]!)))
      Object.defineProperty(response, 'kvs', {value: kvs, enumerable: true, configurable: true, writable: true})
      return kvs
    },
    set(kvs: WireKeyValue[]) {
      Object.defineProperty(response, 'kvs', {value: kvs, enumerable: true, configurable: true, writable: true})
    },
  })
  // Not enumerable: no part of the reply etcd3 or a comparison sees.
  Object.defineProperty(response, SPANS, {value: noted})
  return response
}

/** A page of a list as its reader needs it. */
export interface RangePage {
  /** How many key-values it holds. */
  readonly length: number
  /** Its size as a reply, in bytes: what the next page's limit is scaled from. */
  readonly bytes: number
  /** The first key; undefined for an empty page. */
  firstKey(): Buffer | undefined
  /** The last key, where the next page starts after; undefined for an empty page. */
  lastKey(): Buffer | undefined
  /** The i-th key-value as the store gives it, made anew at each call. */
  item(i: number): StoredValue
  /** Calls `visit` with the key of each key-value from `from` to `to` (excluded), from its keyOffset-th byte, and where its value's bytes lie, bytes[start..end); returns how many. */
  forEachKeyValueBytes(from: number, to: number, visit: (key: string, bytes: Buffer, start: number, end: number) => void, keyOffset?: number): number
}

/**
 * The page a range reply holds, read from its bytes when this reader made it, and from
 * its kvs otherwise (a reply made in a test).
 */
export function rangePage(response: {kvs: WireKeyValue[]}): RangePage {
  const raw = (response as {[SPANS]?: KeyValueLayout})[SPANS]
  return raw ? new RawPage(raw) : new ObjectPage(response.kvs)
}

/** What each key-value of an object page is counted as beyond its key and value (revisions, lease, framing). */
const KEY_VALUE_OVERHEAD_BYTES = 40

class ObjectPage implements RangePage {
  constructor(private readonly kvs: WireKeyValue[]) {}
  get length(): number {
    return this.kvs.length
  }
  get bytes(): number {
    let bytes = 0
    for (const kv of this.kvs) bytes += kv.key.length + kv.value.length + KEY_VALUE_OVERHEAD_BYTES
    return bytes
  }
  firstKey(): Buffer | undefined {
    return this.kvs[0]?.key
  }
  lastKey(): Buffer | undefined {
    return this.kvs.at(-1)?.key
  }
  item(i: number): StoredValue {
    return toStoredValue(this.kvs[i]!)
  }
  forEachKeyValueBytes(from: number, to: number, visit: (key: string, bytes: Buffer, start: number, end: number) => void, keyOffset = 0): number {
    for (let i = from; i < to; i++) visit(this.kvs[i]!.key.toString('utf8', keyOffset), this.kvs[i]!.value, 0, this.kvs[i]!.value.length)
    return to - from
  }
}

class RawPage implements RangePage {
  private readonly reader: Reader
  constructor(private readonly raw: KeyValueLayout) {
    this.reader = new Reader(raw.buf, 0, 0)
  }
  get length(): number {
    return this.raw.count
  }
  get bytes(): number {
    const {count, layout} = this.raw
    // Each key-value's tag and length take about 4 bytes more.
    return count === 0 ? 0 : layout[LAYOUT_WIDTH * (count - 1) + 1]! - layout[0]! + 4 * count
  }
  firstKey(): Buffer | undefined {
    return this.keyOf(0)
  }
  lastKey(): Buffer | undefined {
    return this.keyOf(this.raw.count - 1)
  }
  private keyOf(i: number): Buffer | undefined {
    const {buf, count, layout} = this.raw
    if (i < 0 || i >= count) return undefined
    const at = LAYOUT_WIDTH * i
    return layout[at + 3] === 0 ? EMPTY : buf.subarray(layout[at + 2]!, layout[at + 3]!)
  }
  item(i: number): StoredValue {
    const {buf, layout} = this.raw
    const r = this.reader
    r.pos = layout[LAYOUT_WIDTH * i]!
    r.end = layout[LAYOUT_WIDTH * i + 1]!
    // The fields in toStoredValue's order, so every StoredValue has one shape.
    let key = ''
    let value = ''
    let createRevision = 0
    let modRevision = 0
    let version = 0
    let lease: string | null = null
    while (r.pos < r.end) {
      const tag = r.uint32()
      const field = tag >>> 3
      const wireType = tag & 7
      if (wireType === 2 && (field === 1 || field === 5)) {
        const length = r.uint32()
        const text = buf.toString('utf8', r.pos, r.pos + length)
        r.pos += length
        if (field === 1) key = text
        else value = text
      } else if (wireType !== 0) r.skip(wireType)
      else if (field === 2) createRevision = r.number()
      else if (field === 3) modRevision = r.number()
      else if (field === 4) version = r.number()
      else if (field === 6) {
        const text = r.long(true)
        lease = text === '0' ? null : text
      } else r.skip(0)
    }
    return {key, value, createRevision, modRevision, version, lease}
  }
  forEachKeyValueBytes(from: number, to: number, visit: (key: string, bytes: Buffer, start: number, end: number) => void, keyOffset = 0): number {
    const {buf, layout} = this.raw
    for (let i = from; i < to; i++) {
      const at = LAYOUT_WIDTH * i
      const keyEnd = layout[at + 3]!
      visit(buf.toString('utf8', Math.min(layout[at + 2]! + keyOffset, keyEnd), keyEnd), buf, layout[at + 4]!, layout[at + 5]!)
    }
    return to - from
  }
}

/** A key-value as etcd3 gives it, as the store gives it. */
export function toStoredValue(kv: Pick<WireKeyValue, 'key' | 'value' | 'create_revision' | 'mod_revision' | 'version' | 'lease'>): StoredValue {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: kv.lease && kv.lease !== '0' ? String(kv.lease) : null,
  }
}
