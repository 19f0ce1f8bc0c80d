import * as packet from 'dns-packet'
import {type RecordOptions, type Reply, type Snapshot, buildReply, healthyByService, reverseNameOf} from './records.js'
import type {Query} from './wire.js'

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

/**
 * Answers kept encoded: a hit only patches the id. Several rotations per name are kept so
 * repeated queries still spread over instances. Cleared whenever the index changes.
 */
export class AnswerCache {
  private entries = new Map<string, {buffers: Buffer[]; next: number}>()
  private groups: ReturnType<typeof healthyByService> | undefined
  private reverseNames: Set<string> | undefined
  hits = 0
  misses = 0

  constructor(private readonly snapshot: Snapshot, private readonly options: RecordOptions) {}

  invalidate(): void {
    this.entries.clear()
    this.groups = undefined
    this.reverseNames = undefined
  }

  get size(): number {
    return this.entries.size
  }

  /** Whether a reverse name belongs to a registered address (else it is forwarded). */
  hasReverse(name: string): boolean {
    this.reverseNames ??= new Set([...this.snapshot.services.values()].map((r) => reverseNameOf(r.address)).filter((n): n is string => n !== undefined))
    return this.reverseNames.has(name)
  }

  answer(query: Query, limit: number): Buffer {
    const key = `${query.name}|${query.type}|${query.recursionDesired ? 1 : 0}|${query.edns ? 1 : 0}|${limit}`
    let entry = this.entries.get(key)
    if (entry) this.hits++
    else {
      this.misses++
      this.groups ??= healthyByService(this.snapshot, this.options.onlyPassing)
      const buffers: Buffer[] = []
      for (let rotation = 0; rotation < ROTATIONS; rotation++) {
        const reply = buildReply(this.snapshot, this.groups, this.options, query.name, query.type, rotation)
        buffers.push(encodeReply(query, reply, limit))
        if (reply.answers.length <= 1 || rotation + 1 >= reply.answers.length) break
      }
      entry = {buffers, next: 0}
      if (this.entries.size > 50_000) this.entries.clear()
      this.entries.set(key, entry)
    }
    const source = entry.buffers[entry.next++ % entry.buffers.length]!
    const out = Buffer.from(source)
    out.writeUInt16BE(query.id, 0)
    return out
  }
}
