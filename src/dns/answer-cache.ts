import * as packet from 'dns-packet'
import {type RecordOptions, type RecordSource, type Reply, buildReply, dependencyOf} from './records.js'
import type {RegistryChange} from './registry.js'
import {TCP_LIMIT} from './edns.js'
import {copyName, echoQuestionCase, matchesPlainKey, plainQuestionHash, plainQuestionKey} from './plain-question.js'
import {CLASS, type Query} from './wire.js'

const AA = 1 << 10
const RD = 1 << 8
const TC = 1 << 9
const ROTATIONS = 8

/** Encodes a reply for a query; truncated (TC, no records) when it exceeds `limit` bytes. */
export function encodeReply(query: Query, reply: Reply, limit: number): Buffer {
  const opt = query.edns ? [{name: '.', type: 'OPT', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, options: []} as unknown as packet.Answer] : []
  const base = {
    id: 0,
    type: 'response' as const,
    flags: AA | (query.recursionDesired ? RD : 0) | (reply.rcode & 0xf),
    questions: [{name: query.name || '.', type: typeName(query.type), class: 'IN'} as packet.Question],
  }
  const full = packet.encode({...base, answers: reply.answers, authorities: reply.authorities, additionals: [...reply.additionals, ...opt]})
  if (full.length <= limit) return full
  const withoutGlue = packet.encode({...base, answers: reply.answers, authorities: reply.authorities, additionals: opt})
  if (withoutGlue.length <= limit) return withoutGlue
  return packet.encode({...base, flags: base.flags | TC, answers: [], authorities: [], additionals: opt})
}

function typeName(type: number): string {
  // dns-packet maps UNKNOWN_<n> back to n for every type, named or not
  return `UNKNOWN_${type}`
}

/** One name, type and flag combination: its replies, encoded whole and per smaller limit. */
interface Variant {
  replies: Reply[]
  /** Encoded with no size limit (TCP); a UDP answer that fits is served from here. */
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
      variant = this.build(query)
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
        limited = variant.replies.map((reply) => encodeReply(query, reply, limit))
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

  private build(query: Query): Variant {
    const replies: Reply[] = []
    for (let rotation = 0; rotation < ROTATIONS; rotation++) {
      const reply = buildReply(this.source, this.options, query.name, query.type, rotation)
      replies.push(reply)
      if (reply.answers.length <= 1 || rotation + 1 >= reply.answers.length) break
    }
    const whole = replies.map((reply) => encodeReply(query, reply, TCP_LIMIT))
    return {replies, whole, plainSized: whole.every((b) => b.length <= PLAIN_LIMIT), next: 0, dead: false, zone: this.zoneOf(query.name)}
  }
}

const MAX_ANSWERS = 50_000
/** What a query without EDNS may receive over UDP (RFC 1035). */
const PLAIN_LIMIT = 512
