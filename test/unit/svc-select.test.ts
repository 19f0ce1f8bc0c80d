import {describe, expect, it} from '@jest/globals'
import {rendezvous, select, unitHash} from '../../src/svc/select.js'

const instances = (n: number, weight = 1) => Array.from({length: n}, (_, i) => ({id: `i${i}`, weight}))

/** A seeded generator, so sampling tests are repeatable. */
function seeded(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

describe('client-side selection', () => {
  it('rendezvous: removing one of 5 instances moves only its keys, spread over the rest', () => {
    const five = instances(5)
    const keys = Array.from({length: 10_000}, (_, i) => `key-${i}`)
    const before = keys.map((k) => rendezvous(five, k, 1)[0].id)
    const shares = new Map<string, number>()
    for (const id of before) shares.set(id, (shares.get(id) ?? 0) + 1)
    for (const share of shares.values()) expect(share).toBeGreaterThan(1700) // ~2,000 each
    const four = five.filter((i) => i.id !== 'i2')
    const after = keys.map((k) => rendezvous(four, k, 1)[0].id)
    let moved = 0
    const movedTo = new Map<string, number>()
    keys.forEach((_, j) => {
      if (before[j] === after[j]) return
      moved++
      expect(before[j]).toBe('i2')
      movedTo.set(after[j], (movedTo.get(after[j]) ?? 0) + 1)
    })
    expect(moved).toBe(shares.get('i2'))
    for (const count of movedTo.values()) expect(count).toBeGreaterThan(moved / 4 * 0.7)
  })

  it('rendezvous follows weights and gives --count distinct instances', () => {
    const weighted = [{id: 'a', weight: 1}, {id: 'b', weight: 3}]
    const toB = Array.from({length: 4000}, (_, i) => rendezvous(weighted, `k${i}`, 1)[0].id).filter((id) => id === 'b').length
    expect(toB / 4000).toBeGreaterThan(0.7)
    expect(toB / 4000).toBeLessThan(0.8)
    const two = rendezvous(instances(5), 'user-42', 2)
    expect(new Set(two.map((i) => i.id)).size).toBe(2)
    expect(rendezvous(instances(5), 'user-42', 2)).toEqual(two)
  })

  it('unitHash stays inside (0, 1)', () => {
    for (let i = 0; i < 1000; i++) {
      const h = unitHash(`x${i}`)
      expect(h).toBeGreaterThan(0)
      expect(h).toBeLessThan(1)
    }
  })

  it('round-robin walks the instances in id order and wraps', () => {
    const list = [{id: 'c', weight: 1}, {id: 'a', weight: 1}, {id: 'b', weight: 1}]
    let position = 0
    const firsts: string[] = []
    for (let i = 0; i < 4; i++) {
      const {picked, nextPosition} = select(list, {strategy: 'round-robin', count: 1, position})
      firsts.push(picked[0].id)
      position = nextPosition!
    }
    expect(firsts).toEqual(['a', 'b', 'c', 'a'])
    expect(select(list, {strategy: 'round-robin', count: 5, position: 2}).picked.map((p) => p.id)).toEqual(['c', 'a', 'b'])
  })

  it('random gives distinct instances, each about equally often', () => {
    const random = seeded(7)
    const counts = new Map<string, number>()
    for (let i = 0; i < 3000; i++) {
      const picked = select(instances(3), {strategy: 'random', count: 2, random}).picked
      expect(new Set(picked.map((p) => p.id)).size).toBe(2)
      counts.set(picked[0].id, (counts.get(picked[0].id) ?? 0) + 1)
    }
    for (const c of counts.values()) expect(c).toBeGreaterThan(850)
  })

  it('weighted picks in proportion to weight', () => {
    const random = seeded(11)
    const list = [{id: 'light', weight: 1}, {id: 'heavy', weight: 4}]
    const heavy = Array.from({length: 5000}, () => select(list, {strategy: 'weighted', count: 1, random}).picked[0].id).filter((id) => id === 'heavy').length
    expect(heavy / 5000).toBeGreaterThan(0.75)
    expect(heavy / 5000).toBeLessThan(0.85)
  })

  it('hash is stable whatever order the candidates come in', () => {
    const list = instances(6)
    const a = select(list, {strategy: 'hash', key: 'k', count: 3}).picked
    const b = select([...list].reverse(), {strategy: 'hash', key: 'k', count: 3}).picked
    expect(a).toEqual(b)
  })
})
