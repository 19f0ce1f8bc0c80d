import {describe, expect, it} from '@jest/globals'
import {type KeyRange, ListRanges, afterEveryKeyWith} from '../../src/store/range-bounds.js'

/**
 * ListRanges against etcd's range semantics on sorted key sets of many shapes: every key
 * listed once and in order, and how many keys etcd walks for them (each range call walks
 * every key from its start to its end) against pages that all run to the end of the prefix.
 */
function list(keys: string[], prefix: string, limit: number, firstLimit = 1000) {
  const sorted = [...new Set(keys)].map((k) => Buffer.from(k)).sort(Buffer.compare)
  const lowerBound = (key: Buffer) => {
    let [lo, hi] = [0, sorted.length]
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (Buffer.compare(sorted[mid]!, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const ranges = new ListRanges(Buffer.from(prefix), afterEveryKeyWith(Buffer.from(prefix))!)
  const listed: string[] = []
  let [calls, walked, pageLimit] = [0, 0, firstLimit]
  for (let range: KeyRange | undefined = ranges.first(); range; ) {
    const [from, to] = [lowerBound(range.start), lowerBound(range.end)]
    const returned = Math.min(pageLimit, to - from)
    calls++
    walked += to - from
    for (let i = from; i < from + returned; i++) listed.push(sorted[i]!.toString())
    range = ranges.next({first: sorted[from], last: returned ? sorted[from + returned - 1] : undefined, returned, inRange: to - from, more: to - from > returned}, (pageLimit = limit))
  }
  let unbounded = sorted.length
  for (let start = firstLimit; start < sorted.length; start += limit) unbounded += sorted.length - start
  return {listed, sorted: sorted.map(String), calls, walkedPerKey: walked / sorted.length, unboundedPerKey: unbounded / sorted.length}
}

const random = (n: number, seed: number) => {
  let x = seed
  return Array.from({length: n}, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x.toString(36)
  })
}

const shapes: [string, string, string[]][] = [
  ['registrations (10 instances a service)', '/c/services/', Array.from({length: 100_000}, (_, n) => `/c/services/default/svc${Math.floor(n / 10)}/svc${Math.floor(n / 10)}-${n % 10}`)],
  ['subnet leases', '/n/subnets/', Array.from({length: 10_000}, (_, i) => `/n/subnets/10.${(i >> 8) & 255}.${i & 255}.0-24`)],
  ['numbers', '/f/', Array.from({length: 50_000}, (_, i) => `/f/${i}`)],
  ['zero-padded numbers', '/f/', Array.from({length: 50_000}, (_, i) => `/f/${String(i).padStart(6, '0')}`)],
  ['random names', '/r/', random(50_000, 7).map((r) => `/r/${r}`)],
  ['namespaces and apps', '/a/', Array.from({length: 60_000}, (_, i) => `/a/ns${i % 30}/app${Math.floor(i / 30) % 200}/i${i}`)],
  ['two crowds and a sparse middle', '/s/', [...Array.from({length: 40_000}, (_, i) => `/s/a/${i}`), ...Array.from({length: 300}, (_, i) => `/s/b${i}/x`), ...Array.from({length: 40_000}, (_, i) => `/s/zz/${i}`)]],
]

describe('ListRanges', () => {
  it.each(shapes)('%s: every key once, in order, and no more walking than pages to the end of the prefix', (_shape, prefix, keys) => {
    for (const limit of [5000, 18_000]) {
      const {listed, sorted, calls, walkedPerKey, unboundedPerKey} = list(keys, prefix, limit)
      expect(listed).toEqual(sorted)
      expect(walkedPerKey).toBeLessThanOrEqual(unboundedPerKey)
      // A few more calls than pages at most (the empty ones are cheap for etcd).
      expect(calls).toBeLessThan(2 * Math.ceil(keys.length / limit) + 16)
    }
  })

  it('walks each registration about twice in all, where pages to the end of the prefix walked it over four times', () => {
    const [, prefix, keys] = shapes[0]!
    const {walkedPerKey, unboundedPerKey, calls} = list(keys, prefix, 18_000)
    expect(walkedPerKey).toBeLessThan(2.05)
    expect(unboundedPerKey).toBeGreaterThan(4)
    expect(calls).toBeLessThan(25)
  })

  it('after a page to the end of the prefix, ends the next range where the subtree of the last key ends, one byte past where the page\'s keys part', () => {
    const ranges = new ListRanges(Buffer.from('/p/'), Buffer.from('/p0'))
    expect(ranges.first()).toEqual({start: Buffer.from('/p/'), end: Buffer.from('/p0')})
    const next = ranges.next({first: Buffer.from('/p/a1/x'), last: Buffer.from('/p/a7/y'), returned: 3, inRange: 10, more: true}, 3)
    expect(next).toEqual({start: Buffer.from('/p/a7/y\0'), end: Buffer.from('/p/a8')})
    // The rest of a7 read whole, few keys but not a whole subtree: the next range is the next subtree at the same depth.
    expect(ranges.next({first: Buffer.from('/p/a7/z'), last: Buffer.from('/p/a7/zz'), returned: 2, inRange: 2, more: false}, 3)).toEqual({start: Buffer.from('/p/a8'), end: Buffer.from('/p/a9')})
  })

  it('goes a level deeper while a range holds more than two pages beyond the one returned', () => {
    const ranges = new ListRanges(Buffer.from('/p/'), Buffer.from('/p0'))
    ranges.next({first: Buffer.from('/p/a1'), last: Buffer.from('/p/b1'), returned: 2, inRange: 100, more: true}, 2)
    // depth 4 ("/p/b"), and that range still holds 90 beyond the 2 returned: depth 5.
    expect(ranges.next({first: Buffer.from('/p/b1'), last: Buffer.from('/p/b2x'), returned: 2, inRange: 92, more: true}, 2)).toEqual({start: Buffer.from('/p/b2x\0'), end: Buffer.from('/p/b3')})
  })

  it('a whole subtree with few keys widens the next range; an empty one widens it two levels, back to the end of the prefix here', () => {
    const ranges = new ListRanges(Buffer.from('/p/'), Buffer.from('/p0'))
    ranges.next({first: Buffer.from('/p/aa/1'), last: Buffer.from('/p/ab/1'), returned: 40, inRange: 1000, more: true}, 40)
    // The rest of /p/ab, then /p/ac whole with 5 keys (under a quarter of 40): /p/ad.. to the end of /p/a.
    expect(ranges.next({first: Buffer.from('/p/ab/2'), last: Buffer.from('/p/ab/9'), returned: 8, inRange: 8, more: false}, 40)).toEqual({start: Buffer.from('/p/ac'), end: Buffer.from('/p/ad')})
    expect(ranges.next({first: Buffer.from('/p/ac/1'), last: Buffer.from('/p/ac/5'), returned: 5, inRange: 5, more: false}, 40)).toEqual({start: Buffer.from('/p/ad'), end: Buffer.from('/p/b')})
    expect(ranges.next({first: undefined, last: undefined, returned: 0, inRange: 0, more: false}, 40)).toEqual({start: Buffer.from('/p/b'), end: Buffer.from('/p0')})
    expect(ranges.next({first: undefined, last: undefined, returned: 0, inRange: 0, more: false}, 40)).toBeUndefined()
  })

  it('never ends a range past the prefix, and lists keys of 0xff bytes', () => {
    const prefix = Buffer.from([0x2f, 0xff])
    const end = Buffer.from([0x30])
    const ranges = new ListRanges(prefix, end)
    const next = ranges.next({first: Buffer.from([0x2f, 0xff, 0x01]), last: Buffer.from([0x2f, 0xff, 0xff, 0xff]), returned: 5, inRange: 50, more: true}, 5)
    expect(next).toEqual({start: Buffer.from([0x2f, 0xff, 0xff, 0xff, 0x00]), end})
    expect(afterEveryKeyWith(Buffer.from([0xff, 0xff]))).toBeUndefined()
    expect(afterEveryKeyWith(Buffer.from([0x61, 0xff]))).toEqual(Buffer.from([0x62]))
  })
})
