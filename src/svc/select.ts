/**
 * Client-side selection among healthy instances: what `svc resolve` prints. Pure
 * functions of the candidates plus a position (round-robin), a random source
 * (random, weighted) or a key (hash), so each strategy is tested without I/O.
 */
export type Strategy = 'round-robin' | 'random' | 'weighted' | 'hash'
export const STRATEGIES: readonly Strategy[] = ['round-robin', 'random', 'weighted', 'hash']

export interface Candidate {
  id: string
  weight: number
}

export interface SelectOptions {
  strategy: Strategy
  count: number
  /** round-robin: where the previous call stopped. */
  position?: number
  /** hash: the key whose instances are wanted. */
  key?: string
  random?: () => number
}

export interface Selection<T> {
  picked: T[]
  /** round-robin: the position to store for the next call. */
  nextPosition?: number
}

export function select<T extends Candidate>(candidates: readonly T[], options: SelectOptions): Selection<T> {
  // A stable order, so positions and hashes do not depend on listing order.
  const sorted = [...candidates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const count = Math.min(options.count, sorted.length)
  const random = options.random ?? Math.random
  switch (options.strategy) {
    case 'round-robin':
      return roundRobin(sorted, count, options.position ?? 0)
    case 'random':
      return {picked: weightedSample(sorted, count, random, () => 1)}
    case 'weighted':
      return {picked: weightedSample(sorted, count, random)}
    case 'hash':
      return {picked: rendezvous(sorted, options.key ?? '', count)}
  }
}

function roundRobin<T>(sorted: T[], count: number, position: number): Selection<T> {
  if (sorted.length === 0) return {picked: [], nextPosition: position}
  const start = ((position % sorted.length) + sorted.length) % sorted.length
  const picked = Array.from({length: count}, (_, i) => sorted[(start + i) % sorted.length])
  // Advance by one, so every instance leads in turn however many are asked for.
  return {picked, nextPosition: (start + 1) % sorted.length}
}

/**
 * Weighted sampling without replacement (Efraimidis-Spirakis): each candidate gets
 * u^(1/w) for a uniform u and the largest keys win, so a candidate with twice the
 * weight is picked first twice as often.
 */
export function weightedSample<T extends Candidate>(candidates: readonly T[], count: number, random: () => number, weightOf = (c: T) => c.weight): T[] {
  return candidates
    .map((c) => ({c, score: Math.pow(Math.max(random(), Number.MIN_VALUE), 1 / Math.max(weightOf(c), 1e-9))}))
    .sort((a, b) => b.score - a.score)
    .slice(0, count)
    .map((s) => s.c)
}

/**
 * Rendezvous (highest random weight) hashing: every candidate scores the key and the
 * highest scores win. Removing a candidate only moves the keys it won; adding one
 * only takes keys to it. Weighted with -w/ln(h), so shares follow the weights.
 */
export function rendezvous<T extends Candidate>(candidates: readonly T[], key: string, count: number): T[] {
  return candidates
    .map((c) => ({c, score: -c.weight / Math.log(unitHash(`${c.id}\u0000${key}`))}))
    .sort((a, b) => b.score - a.score || (a.c.id < b.c.id ? -1 : 1))
    .slice(0, count)
    .map((s) => s.c)
}

/** A hash of the text mapped into (0, 1), from two differently seeded 32-bit hashes. */
export function unitHash(text: string): number {
  const high = mix32(text, 0x811c9dc5) >>> 11 // 21 bits
  const low = mix32(text, 0x9747b28c) // 32 bits
  return (high * 2 ** 32 + low + 1) / (2 ** 53 + 2)
}

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so nearby inputs spread. */
function mix32(text: string, seed: number): number {
  let h = seed >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
