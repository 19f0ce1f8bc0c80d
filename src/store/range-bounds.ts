/**
 * Where each range of a list ends, so that etcd walks about the page it returns and not
 * the rest of the prefix.
 *
 * etcd answers a range with a limit by walking every key from its start to its end (3.4
 * collects them all, later versions count them all) and returning the first `limit`. A
 * list whose ranges all run to the end of the prefix costs it about n²/2p key visits for
 * n keys in pages of p: at 100,000 registrations and as many health records that walk
 * was a third of etcd's CPU while `dns serve` listed them (docs/scale.md).
 *
 * Keys are paths, so a range here ends where a subtree ends: the first key after every
 * key that starts with the first `depth` bytes of the range's start. The first range
 * runs to the end of the prefix; the depth is then set one byte past where its first and
 * last key part. A range still holding more than two pages beyond the one returned
 * (etcd's count says so) makes the next one a level deeper. A whole subtree that held
 * less than a quarter of a page makes the next range a level shallower, and an empty
 * range two, up to the whole prefix again. The ranges change the pages, never the keys
 * listed: they follow each other with no gap, all read at the list's one revision.
 *
 * On key sets of seven shapes (test/unit/range-bounds.test.ts) in pages of 5,000 to
 * 18,000 keys, etcd walks each key 1.9 to 4.3 times in all, where pages to the end of the
 * prefix had it walk each 1.9 to 11.3 times (100,000 registrations: 2.0-2.6 against
 * 4.2-11.3), for a few more calls, some of them empty.
 */

/** One range call of a list: [start, end). */
export interface KeyRange {
  readonly start: Buffer
  readonly end: Buffer
}

/** What a range call returned, as far as choosing the next one goes. */
export interface RangeSeen {
  readonly first: Buffer | undefined
  readonly last: Buffer | undefined
  /** Key-values returned. */
  readonly returned: number
  /** etcd's count: the keys in the whole range (NaN when not told). */
  readonly inRange: number
  /** Whether the range holds more than were returned. */
  readonly more: boolean
}

function sharedPrefixLength(a: Buffer, b: Buffer): number {
  const most = Math.min(a.length, b.length)
  let i = 0
  while (i < most && a[i] === b[i]) i++
  return i
}

/** The first key after every key that starts with `prefix`; undefined when there is none (all 0xff). */
export function afterEveryKeyWith(prefix: Buffer): Buffer | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const next = Buffer.from(prefix.subarray(0, i + 1))
      next[i]!++
      return next
    }
  }
  return undefined
}

const earlier = (a: Buffer, b: Buffer) => (Buffer.compare(a, b) <= 0 ? a : b)

export class ListRanges {
  /** Bounded ranges end where the subtree of their start's first `depth` bytes ends; undefined: at the end of the prefix. */
  private depth: number | undefined
  /** Keys the range being read gave so far. */
  private keysInRange = 0
  /** Whether the range being read began where a subtree begins (not after a key in the middle of one). */
  private wholeSubtree = false
  private current: KeyRange

  constructor(
    private readonly prefix: Buffer,
    private readonly prefixEnd: Buffer,
  ) {
    this.current = {start: prefix, end: prefixEnd}
  }

  /** The range to read first: the whole prefix. */
  first(): KeyRange {
    return this.current
  }

  /** The range to read after one that returned `seen` with at most `limit` keys a page, or undefined when the prefix is read whole. */
  next(seen: RangeSeen, limit: number): KeyRange | undefined {
    this.keysInRange += seen.returned
    const {end} = this.current
    if (seen.more && seen.last) {
      const start = Buffer.concat([seen.last, Buffer.from([0])])
      let depth = this.depth
      if (depth === undefined && seen.first && seen.returned >= 2) depth = sharedPrefixLength(seen.first, seen.last) + 1
      else if (depth !== undefined && seen.inRange - seen.returned > 2 * limit) depth++
      const bounded = depth === undefined ? end : earlier(this.subtreeEnd(start, depth), end)
      if (!bounded.equals(end)) [this.keysInRange, this.wholeSubtree] = [0, false]
      this.depth = depth
      return (this.current = {start, end: bounded})
    }
    if (end.equals(this.prefixEnd)) return undefined
    // The range is read whole: the prefix goes on from its end, a level or two shallower
    // when a whole subtree (not the rest of one) held little or nothing.
    const few = this.keysInRange === 0 || (this.wholeSubtree && this.keysInRange < limit / 4)
    if (this.depth !== undefined && few) {
      const shallower = this.depth - (this.keysInRange === 0 ? 2 : 1)
      this.depth = shallower > this.prefix.length ? shallower : undefined
    }
    ;[this.keysInRange, this.wholeSubtree] = [0, true]
    return (this.current = {start: end, end: this.depth === undefined ? this.prefixEnd : this.subtreeEnd(end, this.depth)})
  }

  /** Where the subtree of `start`'s first `depth` bytes ends, within the prefix. */
  private subtreeEnd(start: Buffer, depth: number): Buffer {
    const after = afterEveryKeyWith(start.subarray(0, depth))
    return after ? earlier(after, this.prefixEnd) : this.prefixEnd
  }
}
