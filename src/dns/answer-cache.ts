import {type ReplyMessage, MAX_MESSAGE_BYTES, UnencodableError, writeMessage} from './encode.js'
import {type RecordOptions, type RecordSource, type Reply, buildReply, dependencyOf} from './records.js'
import type {RegistryChange} from './registry.js'
import {TCP_LIMIT} from './edns.js'
import {copyName, echoQuestionCase, matchesPlainKey, plainQuestionHash, plainQuestionKey} from './plain-question.js'
import {CLASS, type Query, RCODE} from './wire.js'

const QR = 1 << 15
const AA = 1 << 10
const RD = 1 << 8
const TC = 1 << 9
const ROTATIONS = 8
const OPT = {udpPayloadSize: 1232}
const NO_RECORDS: ReplyMessage['answers'] = []

/** Where replies are written before they are copied out at their size. */
const SCRATCH = Buffer.allocUnsafeSlow(MAX_MESSAGE_BYTES)

/**
 * Writes the reply for a query into SCRATCH and returns its length: without the glue
 * (additionals) when the whole does not fit in `limit` bytes, and truncated (TC, no
 * records) when that does not fit either. SERVFAIL, with no records, when a record holds
 * what no DNS message can carry (a registration from another tool with a 64-byte id).
 */
function writeReply(query: Query, request: Buffer, reply: Reply, limit: number): number {
  try {
    return writeFitting(query, request, reply, limit)
  } catch (error) {
    if (!(error instanceof UnencodableError)) throw error
    return writeFitting(query, request, {rcode: RCODE.SERVFAIL, answers: [], authorities: [], additionals: []}, limit)
  }
}

function writeFitting(query: Query, request: Buffer, reply: Reply, limit: number): number {
  const room = limit >= SCRATCH.length ? SCRATCH : SCRATCH.subarray(0, limit)
  const message: ReplyMessage = {
    flags: QR | AA | (query.recursionDesired ? RD : 0) | (reply.rcode & 0xf),
    question: {name: query.name, type: query.type, wire: request.subarray(12, query.questionEnd - 4)},
    answers: reply.answers,
    authorities: reply.authorities,
    additionals: reply.additionals,
    opt: query.edns ? OPT : undefined,
  }
  let length = writeMessage(message, room)
  if (length >= 0) return length
  if (reply.additionals.length) {
    length = writeMessage({...message, additionals: NO_RECORDS}, room)
    if (length >= 0) return length
  }
  return writeMessage({...message, flags: message.flags | TC, answers: NO_RECORDS, authorities: NO_RECORDS, additionals: NO_RECORDS}, room)
}

/** The reply for a query in a buffer of its own (see writeReply). */
function encodeReply(query: Query, request: Buffer, reply: Reply, limit: number): Buffer {
  return Buffer.from(SCRATCH.subarray(0, writeReply(query, request, reply, limit)))
}

/** One name, type and flag combination: its replies, encoded whole and per smaller limit. */
interface Variant {
  /** Encoded with no size limit (TCP), one per rotation, in one allocation; a UDP answer that fits is served from here. */
  whole: Buffer[]
  /** Encodings for a client limit some whole answer exceeds, built on first use. */
  byLimit?: Map<number, Buffer[]>
  /** Every rotation fits the 512 bytes of a query without EDNS: it may be served on the plain path. */
  plainSized: boolean
  next: number
  /** Invalidated: its raw-question shortcut must not serve it any more. */
  dead: boolean
  /** The metrics zone its name is counted under. */
  zone: number
}

/** The answers kept for one name, and what they were built from. */
interface NameEntry {
  /** See dependencyOf: the service, namespace or address the answers depend on. */
  dependency: string
  variants: Map<number, Variant>
}

/**
 * Answers kept encoded: a hit only patches the id. Several rotations per name are kept so
 * repeated queries still spread over instances. A registry change drops only the answers
 * of the services, namespaces and addresses it touched, so a fleet's steady churn of
 * health changes leaves every other answer cached.
 *
 * Looked up by the query's name, then by a small integer for type and flags: a key string
 * joined per query cost more than the rest of the lookup.
 */
export class AnswerCache {
  private entries = new Map<string, NameEntry>()
  /** Names kept, by the dependency their answers were built from. */
  private byDependency = new Map<string, Set<string>>()
  /** Plain queries (see plain-question.ts) by hash: the key they must match, and their variant. */
  private plain = new Map<number, {key: Buffer; variant: Variant}>()
  private variantCount = 0
  hits = 0
  misses = 0
  /** The metrics zone of the last answer handed out (a field, so the hot path allocates nothing for it). */
  lastZone = 0

  /** `zoneOf` gives the metrics zone a name is counted under (the service zone's is 0). */
  constructor(private readonly source: RecordSource, private readonly options: RecordOptions, private readonly zoneOf: (name: string) => number = () => 0) {}

  /** Drops every answer the change could have altered. */
  invalidate(change: RegistryChange): void {
    if (change.all) return this.clear()
    for (const service of change.services) this.drop(`s:${service}`)
    for (const namespace of change.namespaces) this.drop(`n:${namespace}`)
    for (const address of change.addresses) this.drop(`a:${address}`)
  }

  clear(): void {
    for (const entry of this.entries.values()) for (const variant of entry.variants.values()) variant.dead = true
    this.entries.clear()
    this.byDependency.clear()
    this.variantCount = 0
    this.plain.clear()
  }

  private drop(dependency: string): void {
    const names = this.byDependency.get(dependency)
    if (!names) return
    this.byDependency.delete(dependency)
    for (const name of names) {
      const entry = this.entries.get(name)
      if (!entry) continue
      this.entries.delete(name)
      for (const variant of entry.variants.values()) variant.dead = true
      this.variantCount -= entry.variants.size
    }
  }

  /** Answers kept (each name, type and flags), plus their raw-question shortcuts. */
  get size(): number {
    return this.variantCount + this.plain.size
  }

  /**
   * The answer to a plain query asked before, or undefined (take the full path). Only
   * answers that fit the 512 bytes a query without EDNS may receive are kept here.
   */
  plainAnswer(request: Buffer): Buffer | undefined {
    const hash = plainQuestionHash(request)
    if (hash < 0) return undefined
    const entry = this.plain.get(hash)
    if (!entry || !matchesPlainKey(request, entry.key)) return undefined
    const variant = entry.variant
    if (variant.dead) {
      this.plain.delete(hash)
      return undefined
    }
    this.hits++
    this.lastZone = variant.zone
    // matched the key, so the kept question is this one but for case
    return this.copyOut(variant.whole[variant.next++ % variant.whole.length]!, request, request.length - 4, true)
  }

  answer(query: Query, limit: number, request: Buffer): Buffer {
    const slot = (query.type << 2) | (query.recursionDesired ? 2 : 0) | (query.edns ? 1 : 0)
    let entry = this.entries.get(query.name)
    let variant = entry?.variants.get(slot)
    if (variant) this.hits++
    else {
      this.misses++
      // Bounded by answers kept, not by names: one name asked with every type would
      // otherwise grow without end.
      if (this.variantCount >= MAX_ANSWERS) {
        this.clear()
        entry = undefined
      }
      if (!entry) {
        entry = {dependency: dependencyOf(query.name, this.options), variants: new Map()}
        this.entries.set(query.name, entry)
        let names = this.byDependency.get(entry.dependency)
        if (!names) this.byDependency.set(entry.dependency, (names = new Set()))
        names.add(query.name)
      }
      variant = this.build(query, request)
      entry.variants.set(slot, variant)
      this.variantCount++
    }
    // class IN only: the variant does not tell classes apart, and any other class would
    // add a shortcut per query
    if (!query.edns && query.klass === CLASS.IN && variant.plainSized) this.rememberPlain(request, variant)
    this.lastZone = variant.zone
    const rotation = variant.next++ % variant.whole.length
    let source = variant.whole[rotation]!
    if (source.length > limit) {
      variant.byLimit ??= new Map()
      let limited = variant.byLimit.get(limit)
      if (!limited) {
        // Built again rather than kept: the variant is alive, so what it was built from has not changed.
        limited = packed(variant.whole.map((_, rotation) => encodeReply(query, request, buildReply(this.source, this.options, query.name, query.type, rotation), limit)))
        variant.byLimit.set(limit, limited)
      }
      source = limited[rotation]!
    }
    return this.copyOut(source, request, query.questionEnd - 4, false)
  }

  /** The shortcut from a plain question's raw bytes to its variant (the key is made once per variant). */
  private rememberPlain(request: Buffer, variant: Variant): void {
    const hash = plainQuestionHash(request)
    if (hash < 0 || this.plain.get(hash)?.variant === variant) return
    if (this.plain.size >= MAX_ANSWERS) this.plain.clear()
    this.plain.set(hash, {key: plainQuestionKey(request), variant})
  }

  /** A copy of a cached reply with the asker's id and spelling of the name. */
  private copyOut(source: Buffer, request: Buffer, nameEnd: number, sameQuestion: boolean): Buffer {
    const out = Buffer.from(source)
    out[0] = request[0]!
    out[1] = request[1]!
    if (sameQuestion) copyName(out, request, nameEnd)
    else echoQuestionCase(out, request, nameEnd)
    return out
  }

  private build(query: Query, request: Buffer): Variant {
    const encoded: Buffer[] = []
    for (let rotation = 0; rotation < ROTATIONS; rotation++) {
      const reply = buildReply(this.source, this.options, query.name, query.type, rotation)
      encoded.push(encodeReply(query, request, reply, TCP_LIMIT))
      if (reply.answers.length <= 1 || rotation + 1 >= reply.answers.length) break
    }
    const whole = packed(encoded)
    return {whole, plainSized: whole.every((b) => b.length <= PLAIN_LIMIT), next: 0, dead: false, zone: this.zoneOf(query.name)}
  }
}

/**
 * The buffers copied into one allocation of their own. Kept as they came, each small
 * buffer would be a slice of Node's shared 8 KB pool, and one kept slice keeps its whole
 * pool chunk: a worker's cached answers held several MB of them.
 */
function packed(buffers: readonly Buffer[]): Buffer[] {
  let total = 0
  for (const buffer of buffers) total += buffer.length
  const block = Buffer.allocUnsafeSlow(total)
  let offset = 0
  return buffers.map((buffer) => {
    buffer.copy(block, offset)
    offset += buffer.length
    return block.subarray(offset - buffer.length, offset)
  })
}

const MAX_ANSWERS = 50_000
/** What a query without EDNS may receive over UDP (RFC 1035). */
const PLAIN_LIMIT = 512
