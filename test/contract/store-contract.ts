import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import type {KeyValues, ListOptions, Listing, Store, WatchEvent} from '../../src/store/store.js'
import {MAX_TRANSACTION_OPS} from '../../src/store/store.js'

/**
 * The Store contract, written once and run against every implementation: the
 * MemoryStore in the unit tier (test/unit/memory-store-contract.test.ts) and a real
 * etcd in the integration tier (test/integration/store-contract.integration.test.ts).
 * What differs between them (how time passes, how history is compacted, how the store
 * goes away) is the harness's job; every expectation here holds for both.
 */
export interface StoreContractHarness {
  /** The store under test. */
  store: Store
  /** A second client of the same data: a write from another host. */
  other: Store
  /** A key root no other test uses (ends with a slash). */
  root: string
  /** Lets `ms` of time pass for leases and keep-alives. */
  elapse(ms: number): Promise<void>
  /** Polls `probe` (letting time pass) until it is truthy; fails naming `what`. */
  waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs?: number): Promise<T>
  /** Compacts the store's history up to `revision`, as `etcdctl compact` does. */
  compact(revision: number): Promise<void>
  /** Runs `during` while the store under test cannot reach its data, then brings it back. */
  outage(during: () => Promise<void>): Promise<void>
  /** Sets (or clears) the hook the store under test runs before each page of a list after the first. */
  setBeforePage(hook: ((prefix: string, page: number) => Promise<void>) | undefined): void
  close(): Promise<void>
}

const keysOf = (listing: Listing, prefix: string) => listing.items.map((i) => i.key.slice(prefix.length))

export function describeStoreContract(label: string, open: () => Promise<StoreContractHarness>): void {
  describe(`the Store contract: ${label}`, () => {
    let h: StoreContractHarness
    let n = 0
    /** A fresh prefix per test under the harness root. */
    const fresh = (name: string) => `${h.root}${name}-${++n}/`

    beforeAll(async () => {
      h = await open()
    }, 30_000)
    afterAll(async () => {
      await h?.close()
    })

    describe('keys and revisions', () => {
      it('create-if-absent conflicts on an existing key', async () => {
        const p = fresh('create')
        expect(await h.store.create(`${p}a`, '1')).toBe(true)
        expect(await h.store.create(`${p}a`, '2')).toBe(false)
        expect((await h.store.get(`${p}a`))?.value).toBe('1')
      })

      it('compare-and-swap and a guarded delete succeed only on the expected mod revision', async () => {
        const key = `${fresh('cas')}k`
        await h.store.put(key, 'v1')
        const first = (await h.store.get(key))!
        expect(await h.store.compareAndSwap(key, 'v2', first.modRevision)).toBe(true)
        expect(await h.store.compareAndSwap(key, 'v3', first.modRevision)).toBe(false)
        expect((await h.store.get(key))?.value).toBe('v2')
        const second = (await h.store.get(key))!
        expect(await h.store.delete(key, {expectedModRevision: first.modRevision})).toBe(false)
        expect(await h.store.delete(key, {expectedModRevision: second.modRevision})).toBe(true)
        expect(await h.store.get(key)).toBeNull()
        expect(await h.store.compareAndSwap(key, 'v4', second.modRevision)).toBe(false)
        expect(await h.store.compareAndSwap(key, 'v4', 0)).toBe(true)
      })

      it('keeps create revision and counts versions until a delete starts the key over', async () => {
        const key = `${fresh('versions')}k`
        const r1 = await h.store.put(key, 'a')
        const r2 = await h.store.put(key, 'b')
        expect(r2).toBeGreaterThan(r1)
        expect(await h.store.get(key)).toMatchObject({value: 'b', createRevision: r1, modRevision: r2, version: 2, lease: null})
        expect(await h.store.revision()).toBeGreaterThanOrEqual(r2)
        expect(await h.store.delete(key)).toBe(true)
        const r3 = await h.store.put(key, 'c')
        expect(await h.store.get(key)).toMatchObject({createRevision: r3, modRevision: r3, version: 1})
      })

      it('deleting an absent key deletes nothing and writes no revision', async () => {
        const p = fresh('absent')
        const before = await h.store.revision()
        expect(await h.store.delete(`${p}nothing`)).toBe(false)
        expect(await h.store.deletePrefix(p)).toBe(0)
        expect(await h.store.revision()).toBe(before)
      })

      it('deletes a prefix, and only that prefix, in one revision', async () => {
        const p = fresh('delete-prefix')
        await h.store.put(`${p}a`, '1')
        await h.store.put(`${p}b/c`, '2')
        await h.store.put(`${p.slice(0, -1)}x`, 'outside')
        const before = await h.store.revision()
        expect(await h.store.deletePrefix(p)).toBe(2)
        expect(await h.store.revision()).toBe(before + 1)
        expect((await h.store.list(p)).items).toEqual([])
        expect((await h.store.get(`${p.slice(0, -1)}x`))?.value).toBe('outside')
      })
    })

    describe('lists', () => {
      it('lists a prefix in key order with the revision it was read at', async () => {
        const p = fresh('list')
        await h.store.put(`${p}y`, '2')
        await h.store.put(`${p}x`, '1')
        await h.store.put(`${p.slice(0, -1)}-sibling`, 'not under the prefix')
        const listing = await h.store.list(p)
        expect(listing.items.map((i) => [i.key.slice(p.length), i.value])).toEqual([
          ['x', '1'],
          ['y', '2'],
        ])
        expect(listing.revision).toBeGreaterThanOrEqual(Math.max(...listing.items.map((i) => i.modRevision)))
      })

      it('an empty prefix lists nothing, at the current revision', async () => {
        const listing = await h.store.list(fresh('empty'))
        expect(listing.items).toEqual([])
        expect(listing.revision).toBe(await h.store.revision())
      })

      it.each([
        ['fewer keys than a page', 3, 5],
        ['exactly one page', 5, 5],
        ['one key past a page', 6, 5],
        ['several pages and a part', 23, 5],
        ['a page of one key', 4, 1],
      ])('pages: %s (%d keys, pages of %d) give the same listing as one read', async (_what, count, pageSize) => {
        const p = fresh('pages')
        for (let i = 0; i < count; i++) await h.other.put(`${p}${String(i).padStart(3, '0')}`, `v${i}`)
        const whole = await h.store.list(p, {pageSize: 1000})
        const paged = await h.store.list(p, {pageSize})
        expect(keysOf(paged, p)).toEqual(Array.from({length: count}, (_, i) => String(i).padStart(3, '0')))
        expect(paged).toEqual(whole)
      })

      it('reads every page at the first page\'s revision: writes between pages are not seen', async () => {
        const p = fresh('snapshot')
        for (let i = 0; i < 6; i++) await h.store.put(`${p}${i}`, 'old')
        const revisionBefore = await h.store.revision()
        let pages = 0
        h.setBeforePage(async (prefix, page) => {
          if (prefix !== p) return
          pages = page
          if (page === 1) {
            await h.other.put(`${p}5`, 'changed')
            await h.other.put(`${p}9`, 'added')
            await h.other.delete(`${p}4`)
          }
        })
        try {
          const listing = await h.store.list(p, {pageSize: 2})
          // Read after the writes: page 1 and at least one more (etcd's pages may end where a subtree of keys does).
          expect(pages).toBeGreaterThanOrEqual(2)
          expect(listing.revision).toBe(revisionBefore)
          expect(listing.items.map((i) => `${i.key.slice(p.length)}=${i.value}`)).toEqual(['0=old', '1=old', '2=old', '3=old', '4=old', '5=old'])
        } finally {
          h.setBeforePage(undefined)
        }
        expect(keysOf(await h.store.list(p), p)).toEqual(['0', '1', '2', '3', '5', '9'])
      })

      it('starts over when the revision is compacted between pages, and is still one snapshot', async () => {
        const p = fresh('compacted-list')
        for (let i = 0; i < 6; i++) await h.store.put(`${p}${i}`, 'old')
        let compactions = 0
        h.setBeforePage(async (prefix, page) => {
          if (prefix !== p || page !== 1 || compactions > 0) return
          compactions++
          await h.other.put(`${p}0`, 'new')
          await h.other.put(`${p}7`, 'new')
          await h.compact(await h.other.put(`${p}5`, 'new'))
        })
        let listing: Listing
        try {
          listing = await h.store.list(p, {pageSize: 2})
        } finally {
          h.setBeforePage(undefined)
        }
        expect(compactions).toBe(1)
        // Read again from the start after the compaction: every write before it is in, at one revision.
        expect(listing.items.map((i) => `${i.key.slice(p.length)}=${i.value}`)).toEqual(['0=new', '1=old', '2=old', '3=old', '4=old', '5=new', '7=new'])
        expect(listing.revision).toBeGreaterThanOrEqual(Math.max(...listing.items.map((i) => i.modRevision)))
      })

      it('hands each page to onPage in key order and keeps none of it, the first page marked', async () => {
        const p = fresh('on-page')
        for (let i = 0; i < 7; i++) await h.other.put(`${p}${i}`, `v${i}`)
        const pages: [string[], boolean][] = []
        const listing = await h.store.list(p, {pageSize: 3, onPage: (items, first) => pages.push([[...items].map((i) => `${i.key.slice(p.length)}=${i.value}`), first])})
        expect(pages).toEqual([
          [['0=v0', '1=v1', '2=v2'], true],
          [['3=v3', '4=v4', '5=v5'], false],
          [['6=v6'], false],
        ])
        expect(listing.items).toEqual([])
        expect(listing.revision).toBe(await h.store.revision())
        // An empty prefix is one empty first page: a caller starting over learns nothing is left.
        const empty: [number, boolean][] = []
        await h.store.list(fresh('on-page-empty'), {onPage: (items, first) => empty.push([[...items].length, first])})
        expect(empty).toEqual([[0, true]])
      })

      /** Lists p while, once, `${p}0` is rewritten and etcd compacted to it before the second page. */
      const listCompactedAfterFirstPage = async (p: string, options: ListOptions) => {
        let compacted = false
        h.setBeforePage(async (prefix, page) => {
          if (prefix !== p || page !== 1 || compacted) return
          compacted = true
          await h.compact(await h.other.put(`${p}0`, 'new'))
        })
        try {
          await h.store.list(p, options)
        } finally {
          h.setBeforePage(undefined)
        }
      }

      it('onPage hears the list start over after a compaction: a first page again, then one snapshot', async () => {
        const p = fresh('on-page-compacted')
        for (let i = 0; i < 4; i++) await h.store.put(`${p}${i}`, 'old')
        const pages: [string[], boolean][] = []
        await listCompactedAfterFirstPage(p, {pageSize: 2, onPage: (items, first) => pages.push([[...items].map((i) => `${i.key.slice(p.length)}=${i.value}`), first])})
        const restart = pages.map(([, first]) => first).lastIndexOf(true)
        expect(restart).toBeGreaterThan(0)
        expect(pages.slice(restart).flatMap(([items]) => items)).toEqual(['0=new', '1=old', '2=old', '3=old'])
      })

      it('hands keys and values alone to onKeyValues as onPage gets its items: in key order, pages marked, a restart after a compaction a first page again', async () => {
        const p = fresh('on-key-values')
        for (let i = 0; i < 7; i++) await h.other.put(`${p}${i}`, `v${i}`)
        const read = (pages: [string[], boolean][]) => (page: KeyValues, first: boolean) => {
          const items: string[] = []
          const count = page.forEach((key, value) => items.push(`${key.slice(p.length)}=${value}`))
          expect(count).toBe(items.length)
          pages.push([items, first])
        }
        const pages: [string[], boolean][] = []
        const listing = await h.store.list(p, {pageSize: 3, onKeyValues: read(pages)})
        // and the values as bytes, for a reader that keeps them unread
        const asBytes: string[] = []
        await h.store.list(p, {pageSize: 3, onKeyValues: (page) => void page.forEachBytes((key, bytes, start, end) => asBytes.push(`${key.slice(p.length)}=${bytes.toString('utf8', start, end)}`))})
        expect(asBytes).toEqual(pages.flatMap(([items]) => items))
        // and each key from a byte offset on (a reader of one prefix skips it)
        const tails: string[] = []
        await h.store.list(p, {pageSize: 3, onKeyValues: (page) => void page.forEachBytes((tail, bytes, start, end) => tails.push(`${tail}=${bytes.toString('utf8', start, end)}`), Buffer.byteLength(p))})
        expect(tails).toEqual(asBytes)
        // pages kept and read once the list is done, and read again (svc list keeps a registration page until the health listing has passed it)
        const kept: KeyValues[] = []
        await h.store.list(p, {pageSize: 3, onKeyValues: (page) => void kept.push(page)})
        const later: string[] = []
        for (const page of kept) page.forEach((key, value) => later.push(`${key.slice(p.length)}=${value}`))
        expect(later).toEqual(pages.flatMap(([items]) => items))
        const readAgain: string[] = []
        for (const page of kept) page.forEachBytes((key, bytes, start, end) => readAgain.push(`${key.slice(p.length)}=${bytes.toString('utf8', start, end)}`))
        expect(readAgain).toEqual(later)
        expect(pages).toEqual([
          [['0=v0', '1=v1', '2=v2'], true],
          [['3=v3', '4=v4', '5=v5'], false],
          [['6=v6'], false],
        ])
        expect(listing.items).toEqual([])
        const empty: [string[], boolean][] = []
        await h.store.list(fresh('on-key-values-empty'), {onKeyValues: read(empty)})
        expect(empty).toEqual([[[], true]])

        const again: [string[], boolean][] = []
        await listCompactedAfterFirstPage(p, {pageSize: 4, onKeyValues: read(again)})
        const restart = again.map(([, first]) => first).lastIndexOf(true)
        expect(restart).toBeGreaterThan(0)
        expect(again.slice(restart).flatMap(([items]) => items)).toEqual(['0=new', '1=v1', '2=v2', '3=v3', '4=v4', '5=v5', '6=v6'])
      })

      it('a prefix is a byte prefix: keys past it by one byte, or in multi-byte characters, are told apart', async () => {
        const p = fresh('bytes')
        // In key (UTF-8 byte) order: 61, 61 c3 bf, 61 c3 bf 7a, 61 c4 80, 61 f4 8f bf bf.
        const inside = [`${p}a`, `${p}a\u00ff`, `${p}a\u00ffz`, `${p}a\u0100`, `${p}a\u{10ffff}`]
        const outside = [`${p}b`, `${p}\u00ff`]
        for (const key of [...inside, ...outside]) await h.store.put(key, 'x')
        expect((await h.store.list(`${p}a`)).items.map((i) => i.key)).toEqual(inside)
        expect((await h.store.list(`${p}a\u00ff`, {pageSize: 1})).items.map((i) => i.key)).toEqual([`${p}a\u00ff`, `${p}a\u00ffz`])
        expect((await h.store.list(`${p}a\u{10ffff}`)).items.map((i) => i.key)).toEqual([`${p}a\u{10ffff}`])
      })
    })

    describe('transactions', () => {
      it('applies every operation at one revision when every condition holds', async () => {
        const p = fresh('txn')
        await h.store.put(`${p}old`, 'x')
        const old = (await h.store.get(`${p}old`))!
        const result = await h.store.transaction(
          [
            {type: 'put', key: `${p}a`, value: '1'},
            {type: 'put', key: `${p}b`, value: '2'},
            {type: 'delete', key: `${p}old`},
          ],
          [
            {key: `${p}a`, modRevision: 0},
            {key: `${p}old`, modRevision: old.modRevision},
          ],
        )
        expect(result.succeeded).toBe(true)
        const listing = await h.store.list(p)
        expect(keysOf(listing, p)).toEqual(['a', 'b'])
        expect(new Set(listing.items.map((i) => i.modRevision))).toEqual(new Set([result.revision]))
      })

      it('applies nothing when one condition fails', async () => {
        const p = fresh('txn-fail')
        await h.store.put(`${p}taken`, 'theirs')
        const before = await h.store.revision()
        const result = await h.store.transaction(
          [
            {type: 'put', key: `${p}a`, value: '1'},
            {type: 'put', key: `${p}taken`, value: 'mine'},
          ],
          [
            {key: `${p}a`, modRevision: 0},
            {key: `${p}taken`, modRevision: 0},
          ],
        )
        expect(result).toEqual({succeeded: false, revision: before})
        expect(keysOf(await h.store.list(p), p)).toEqual(['taken'])
        expect((await h.store.get(`${p}taken`))?.value).toBe('theirs')
      })

      it(`takes ${MAX_TRANSACTION_OPS} operations and conditions, and refuses one more before sending anything`, async () => {
        const p = fresh('txn-size')
        const puts = Array.from({length: MAX_TRANSACTION_OPS}, (_, i) => ({type: 'put' as const, key: `${p}${String(i).padStart(3, '0')}`, value: 'x'}))
        expect((await h.store.transaction(puts)).succeeded).toBe(true)
        expect((await h.store.list(p)).items).toHaveLength(MAX_TRANSACTION_OPS)
        expect(() => h.store.transaction(puts.slice(1), [{key: `${p}x`, modRevision: 0}, {key: `${p}y`, modRevision: 0}])).toThrow(RangeError)
      })

      it('a presence condition holds while the key exists, whatever its value or revision', async () => {
        const p = fresh('txn-present')
        expect((await h.store.transaction([{type: 'put', key: `${p}a`, value: '1'}], [{key: `${p}entry`, present: true}])).succeeded).toBe(false)
        await h.store.put(`${p}entry`, 'x')
        await h.store.put(`${p}entry`, 'y')
        expect((await h.store.transaction([{type: 'put', key: `${p}a`, value: '2'}], [{key: `${p}entry`, present: true}])).succeeded).toBe(true)
        await h.store.delete(`${p}entry`)
        expect((await h.store.transaction([{type: 'put', key: `${p}a`, value: '3'}], [{key: `${p}entry`, present: true}])).succeeded).toBe(false)
        expect((await h.store.get(`${p}a`))?.value).toBe('2')
      })

      it('puts under a lease in a transaction', async () => {
        const p = fresh('txn-lease')
        const lease = await h.store.grantLease(30)
        await h.store.transaction([{type: 'put', key: `${p}a`, value: '1', lease}])
        expect((await h.store.get(`${p}a`))?.lease).toBe(lease)
        await h.store.revokeLease(lease)
        expect(await h.store.get(`${p}a`)).toBeNull()
      })
    })

    describe('leases', () => {
      it('deletes the keys of an expired lease', async () => {
        const p = fresh('expiry')
        const lease = await h.store.grantLease(1)
        await h.store.put(`${p}leased`, 'x', {lease})
        await h.store.put(`${p}permanent`, 'y')
        expect((await h.store.get(`${p}leased`))?.lease).toBe(lease)
        expect((await h.store.leaseTimeToLive(lease))?.grantedTtlSeconds).toBe(1)
        await h.waitFor('the leased key to expire', async () => (await h.store.get(`${p}leased`)) === null)
        expect((await h.store.get(`${p}permanent`))?.value).toBe('y')
        expect(await h.store.leaseTimeToLive(lease)).toBeNull()
        expect(await h.store.keepAliveOnce(lease)).toBe(false)
      })

      it('a keep-alive gives the lease its whole TTL again', async () => {
        const p = fresh('keepalive')
        const lease = await h.store.grantLease(2)
        await h.store.put(`${p}k`, 'x', {lease})
        for (let i = 0; i < 3; i++) {
          await h.elapse(1000)
          expect(await h.store.keepAliveOnce(lease)).toBe(true)
        }
        expect((await h.store.get(`${p}k`))?.value).toBe('x')
        expect((await h.store.leaseTimeToLive(lease))?.ttlSeconds).toBeGreaterThanOrEqual(1)
        await h.store.revokeLease(lease)
      })

      it('a revoke deletes the keys at once; revoking again is fine; a put under it is refused', async () => {
        const p = fresh('revoke')
        const lease = await h.store.grantLease(60)
        await h.store.put(`${p}a`, '1', {lease})
        await h.store.put(`${p}b`, '2', {lease})
        await h.store.revokeLease(lease)
        expect((await h.store.list(p)).items).toEqual([])
        await h.store.revokeLease(lease)
        await expect(h.store.put(`${p}c`, '3', {lease})).rejects.toThrow(/lease not found/)
      })

      it('keeps a kept lease alive past three times its TTL, and revokes it on stop', async () => {
        const key = `${fresh('kept')}k`
        const kept = await h.store.keepLease(1)
        await kept.put(key, 'alive')
        await h.elapse(3500)
        expect((await h.store.get(key))?.value).toBe('alive')
        await kept.stop({revoke: true})
        expect(await h.store.get(key)).toBeNull()
      })

      it('grants a lost lease again and puts its keys back, those of putAll included', async () => {
        const p = fresh('regrant')
        const regranted: string[] = []
        const kept = await h.store.keepLease(2, {onRegranted: (id) => regranted.push(id)})
        await kept.put(`${p}one`, 'mine')
        await kept.putAll([
          {key: `${p}two`, value: '2'},
          {key: `${p}three`, value: '3'},
        ])
        const firstId = kept.id
        // As when the leader loses the lease: it is gone behind the keeper's back.
        await h.other.revokeLease(firstId)
        expect((await h.store.list(p)).items).toEqual([])
        await h.waitFor('the re-grant', () => regranted.length > 0, 5000)
        expect(kept.id).not.toBe(firstId)
        const back = await h.store.list(p)
        expect(back.items.map((i) => `${i.key.slice(p.length)}=${i.value}`)).toEqual(['one=mine', 'three=3', 'two=2'])
        expect(new Set(back.items.map((i) => i.lease))).toEqual(new Set([kept.id]))
        await kept.stop({revoke: true})
      })

      it('puts a key written with putIfPresent back after a re-grant only while its required key exists', async () => {
        const p = fresh('present')
        const regranted: string[] = []
        const kept = await h.store.keepLease(2, {onRegranted: (id) => regranted.push(id)})
        expect(await kept.putIfPresent(`${p}stays`, 'a', `${p}entry-stays`)).toBe(false)
        expect(await h.store.get(`${p}stays`)).toBeNull()
        await h.store.put(`${p}entry-stays`, 'x')
        await h.store.put(`${p}entry-goes`, 'x')
        expect(await kept.putIfPresent(`${p}stays`, 'a', `${p}entry-stays`)).toBe(true)
        expect(await kept.putIfPresent(`${p}goes`, 'b', `${p}entry-goes`)).toBe(true)
        await h.store.delete(`${p}entry-goes`)
        await h.other.revokeLease(kept.id)
        await h.waitFor('the re-grant', () => regranted.length > 0, 5000)
        expect(await h.store.get(`${p}stays`)).toMatchObject({value: 'a', lease: kept.id})
        expect(await h.store.get(`${p}goes`)).toBeNull()
        await kept.stop({revoke: true})
      })

      it('reports a conflict instead of taking a created key back from someone else', async () => {
        const key = `${fresh('claim')}k`
        const conflicts: string[] = []
        const kept = await h.store.keepLease(2, {onConflict: (k, theirs) => conflicts.push(`${k}=${theirs}`)})
        expect(await kept.create(key, 'me')).toBe(true)
        await h.other.revokeLease(kept.id)
        await h.other.put(key, 'someone-else')
        await h.waitFor('the conflict', () => conflicts.length > 0, 5000)
        expect(conflicts).toEqual([`${key}=someone-else`])
        expect((await h.store.get(key))?.value).toBe('someone-else')
        await kept.stop({revoke: true})
      })

      it('guards a compare-and-swapped key like a created one: put back after a re-grant only while nobody took it', async () => {
        const p = fresh('swap')
        const conflicts: string[] = []
        const regranted: string[] = []
        const kept = await h.store.keepLease(2, {onConflict: (key, theirs) => conflicts.push(`${key}=${theirs}`), onRegranted: (id) => regranted.push(id)})
        await h.store.put(`${p}free`, 'old')
        await h.store.put(`${p}taken`, 'old')
        const free = (await h.store.get(`${p}free`))!
        const taken = (await h.store.get(`${p}taken`))!
        expect(await kept.compareAndSwap(`${p}free`, 'mine', free.modRevision + 1)).toBe(false)
        expect(await kept.compareAndSwap(`${p}free`, 'mine', free.modRevision)).toBe(true)
        expect(await kept.compareAndSwap(`${p}taken`, 'mine', taken.modRevision)).toBe(true)
        await h.other.revokeLease(kept.id)
        await h.other.put(`${p}taken`, 'someone-else')
        await h.waitFor('the re-grant', () => regranted.length > 0, 5000)
        expect(conflicts).toEqual([`${p}taken=someone-else`])
        expect(await h.store.get(`${p}free`)).toMatchObject({value: 'mine', lease: kept.id})
        expect(await h.store.get(`${p}taken`)).toMatchObject({value: 'someone-else', lease: null})
        await kept.stop({revoke: true})
      })
    })

    describe('watches', () => {
      const describeEvent = (p: string) => (e: WatchEvent) => `${e.type} ${e.key.slice(p.length)} ${e.type === 'put' ? e.value : `(was ${e.prevValue})`}`

      it('delivers puts and deletes in order from a revision, with previous values', async () => {
        const p = fresh('watch')
        const listing = await h.store.list(p)
        const events: WatchEvent[] = []
        const watch = await h.store.watchPrefix(p, listing.revision + 1, {onEvents: (e) => void events.push(...e), onResync: () => {}})
        await h.other.put(`${p}a`, '1')
        await h.other.put(`${p}b`, '2')
        await h.other.put(`${p}a`, '3')
        await h.other.delete(`${p}b`)
        await h.other.put(`${p.slice(0, -1)}-elsewhere`, 'not watched')
        await h.waitFor('four events', () => events.length >= 4)
        expect(events.map(describeEvent(p))).toEqual(['put a 1', 'put b 2', 'put a 3', 'delete b (was 2)'])
        expect(events[2]).toMatchObject({prevValue: '1', lease: null})
        expect(watch.nextRevision).toBe(events[3]!.modRevision + 1)
        await watch.close()
      })

      it('replays the events since an older revision in order, a transaction\'s at one revision', async () => {
        const p = fresh('replay')
        const start = (await h.store.put(`${p}a`, '1')) + 1
        await h.store.transaction([
          {type: 'put', key: `${p}b`, value: '2'},
          {type: 'put', key: `${p}c`, value: '3'},
        ])
        await h.store.delete(`${p}a`)
        const events: string[] = []
        const batchRevisions: number[] = []
        const watch = await h.store.watchPrefix(p, start, {
          onEvents: (batch, revision) => {
            // A call may carry several revisions (etcd replays a backlog in one reply); never an event past its revision.
            expect(revision).toBeGreaterThanOrEqual(Math.max(...batch.map((e) => e.modRevision)))
            batchRevisions.push(revision)
            events.push(...batch.map((e) => `${e.modRevision - start} ${describeEvent(p)(e)}`))
          },
          onResync: () => {},
        })
        await h.waitFor('three events', () => events.length >= 3)
        expect(events).toEqual(['0 put b 2', '0 put c 3', '1 delete a (was 1)'])
        expect(batchRevisions.at(-1)).toBeGreaterThanOrEqual(start + 1)
        await watch.close()
      })

      it('waits for a handler before handing it the next batch', async () => {
        const p = fresh('serial')
        const log: string[] = []
        let inside = 0
        const watch = await h.store.watchPrefix(p, (await h.store.revision()) + 1, {
          onEvents: async (events) => {
            inside++
            log.push(`start ${events[0]!.key.slice(p.length)} (${inside} running)`)
            await new Promise((resolve) => setTimeout(resolve, 20))
            inside--
          },
          onResync: () => {},
        })
        for (const k of ['a', 'b', 'c']) await h.other.put(`${p}${k}`, 'x')
        await h.waitFor('three batches handled', () => log.length >= 3 && inside === 0)
        expect(log).toEqual(['start a (1 running)', 'start b (1 running)', 'start c (1 running)'])
        await watch.close()
      })

      it('delivers the deletes of an expired lease', async () => {
        const p = fresh('watch-expiry')
        const lease = await h.store.grantLease(1)
        await h.store.put(`${p}a`, '1', {lease})
        await h.store.put(`${p}b`, '2', {lease})
        const events: WatchEvent[] = []
        const watch = await h.store.watchPrefix(p, (await h.store.revision()) + 1, {onEvents: (e) => void events.push(...e), onResync: () => {}})
        await h.waitFor('two deletes', () => events.length >= 2)
        expect(events.map(describeEvent(p)).sort()).toEqual(['delete a (was 1)', 'delete b (was 2)'])
        await watch.close()
      })

      it('lists again and tells the caller to resync when its revision was compacted, then goes on delivering', async () => {
        const p = fresh('compact')
        await h.store.put(`${p}early`, '1')
        const listing = await h.store.list(p)
        await h.store.put(`${p}late`, '2')
        const latest = await h.store.put(`${p}later`, '3')
        await h.compact(latest)
        const log: string[] = []
        const watch = await h.store.watchPrefix(p, listing.revision + 1, {
          onEvents: (events) => void log.push(...events.map((e) => `${e.type} ${e.key.slice(p.length)}`)),
          onResync: (l) => void log.push(`resync ${keysOf(l, p).join(',')}`),
        })
        await h.waitFor('a resync', () => log.length > 0)
        expect(log).toEqual(['resync early,late,later'])
        expect(watch.nextRevision).toBeGreaterThan(latest)
        await h.other.put(`${p}new`, '4')
        await h.other.delete(`${p}late`)
        await h.other.delete(`${p}new`)
        await h.waitFor('three events after the resync', () => log.length >= 4)
        expect(log).toEqual(['resync early,late,later', 'put new', 'delete late', 'delete new'])
        await watch.close()
      })

      it('with onResyncPage, hands a resync its listing page by page and onResync only the revision', async () => {
        const p = fresh('compact-paged')
        const start = await h.store.put(`${p}early`, '1')
        await h.store.put(`${p}late`, '2')
        const latest = await h.store.put(`${p}later`, '3')
        await h.compact(latest)
        const pages: string[][] = []
        const resyncs: {items: number; revision: number}[] = []
        const watch = await h.store.watchPrefix(p, start, {
          onEvents: () => {},
          onResyncPage: (items, first) => {
            if (first) pages.length = 0
            pages.push([...items].map((i) => `${i.key.slice(p.length)}=${i.value}`))
          },
          onResync: (l) => void resyncs.push({items: l.items.length, revision: l.revision}),
        })
        await h.waitFor('a resync', () => resyncs.length > 0)
        expect(pages.flat()).toEqual(['early=1', 'late=2', 'later=3'])
        expect(resyncs).toEqual([{items: 0, revision: expect.any(Number)}])
        expect(resyncs[0]!.revision).toBeGreaterThanOrEqual(latest)
        await watch.close()
      })

      it('after an outage, says so, and delivers what was written after it with nothing lost or repeated', async () => {
        const p = fresh('outage')
        const seen: string[] = []
        const connection: boolean[] = []
        const watch = await h.store.watchPrefix(p, (await h.store.revision()) + 1, {
          onEvents: (events) => void seen.push(...events.map((e) => e.key.slice(p.length))),
          onResync: () => void seen.push('resync'),
          onConnectionChange: (connected) => void connection.push(connected),
        })
        for (let i = 0; i < 3; i++) await h.other.put(`${p}${i}`, 'x')
        await h.waitFor('the first events', () => seen.length >= 3)
        await h.outage(async () => {
          await expect(h.store.get(`${p}0`)).rejects.toMatchObject({exitCode: 4})
        })
        for (let i = 3; i < 6; i++) await h.other.put(`${p}${i}`, 'x')
        await h.waitFor('the events after the outage', () => seen.length >= 6, 20_000)
        expect(seen).toEqual(['0', '1', '2', '3', '4', '5'])
        expect(connection).toContain(false)
        await watch.close()
      })

      it('delivers nothing after close', async () => {
        const p = fresh('closed')
        const events: WatchEvent[] = []
        const watch = await h.store.watchPrefix(p, (await h.store.revision()) + 1, {onEvents: (e) => void events.push(...e), onResync: () => {}})
        await h.other.put(`${p}before`, 'x')
        await h.waitFor('the first event', () => events.length >= 1)
        await watch.close()
        await h.other.put(`${p}after`, 'x')
        await h.elapse(200)
        expect(events.map((e) => e.key.slice(p.length))).toEqual(['before'])
      })
    })
  })
}
