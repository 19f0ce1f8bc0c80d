import * as packet from 'dns-packet'
import {rewriteTtls} from './wire.js'

const MAX_POSITIVE = 3600
const MAX_NEGATIVE = 1800
const MIN_TTL = 5
const MAX_ENTRIES = 10_000
/** How long an expired answer may still be served when every upstream fails (RFC 8767). */
const STALE_FOR_MS = 24 * 3600 * 1000
/** The TTL a stale answer is served with (RFC 8767 recommends 30 s). */
export const STALE_TTL = 30

/** The TTL to keep a forwarded answer for, capped; negative answers from the SOA (RFC 2308). */
export function cacheTtlSeconds(reply: Buffer): number | undefined {
  let decoded: packet.Packet
  try {
    decoded = packet.decode(reply)
  } catch {
    return undefined
  }
  const flags = decoded.flags ?? 0
  if (flags & 0x0200) return undefined // never cache a truncated answer
  const rcode = flags & 0xf
  if (rcode !== 0 && rcode !== 3) return undefined
  const answers = decoded.answers ?? []
  if (rcode === 0 && answers.length) {
    const ttl = Math.min(...answers.map((a) => (a as {ttl?: number}).ttl ?? 0))
    return Math.max(MIN_TTL, Math.min(MAX_POSITIVE, ttl))
  }
  const soa = (decoded.authorities ?? []).find((a) => a.type === 'SOA') as {ttl?: number; data?: {minimum?: number}} | undefined
  const ttl = soa ? Math.min(soa.ttl ?? 0, soa.data?.minimum ?? 0) : MIN_TTL
  return Math.max(MIN_TTL, Math.min(MAX_NEGATIVE, ttl))
}

/** Forwarded answers, bounded, with stale copies kept for serve-stale. */
export class ForwardCache {
  private entries = new Map<string, {reply: Buffer; storedAt: number; expiresAt: number}>()
  hits = 0
  misses = 0

  get size(): number {
    return this.entries.size
  }

  /** A copy of a fresh answer, its TTLs counted down by the time it spent in the cache. */
  get(key: string): Buffer | undefined {
    const entry = this.entries.get(key)
    const now = Date.now()
    if (entry && entry.expiresAt > now) {
      this.hits++
      const out = Buffer.from(entry.reply)
      const age = Math.floor((now - entry.storedAt) / 1000)
      if (age > 0) rewriteTtls(out, (ttl) => ttl - age)
      return out
    }
    this.misses++
    return undefined
  }

  /** A copy of an expired answer, served with a TTL of 30 s while every upstream fails. */
  getStale(key: string): Buffer | undefined {
    const entry = this.entries.get(key)
    if (!entry || entry.expiresAt + STALE_FOR_MS <= Date.now()) return undefined
    const out = Buffer.from(entry.reply)
    rewriteTtls(out, () => STALE_TTL)
    return out
  }

  clear(): void {
    this.entries.clear()
  }

  put(key: string, reply: Buffer): void {
    const ttl = cacheTtlSeconds(reply)
    if (ttl === undefined) return
    if (this.entries.size >= MAX_ENTRIES && !this.entries.has(key)) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    this.entries.delete(key)
    const now = Date.now()
    this.entries.set(key, {reply: Buffer.from(reply), storedAt: now, expiresAt: now + ttl * 1000})
  }
}
