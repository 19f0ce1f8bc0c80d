import {EventEmitter} from 'node:events'
import {afterEach, beforeEach, describe, expect, it, jest} from '@jest/globals'
import {EtcdStore, ITEMS_PER_TURN, MAX_PAGE_KEYS, TARGET_PAGE_BYTES, nextPageLimit} from '../../src/store/etcd-store.js'
import type {WatchEvent} from '../../src/store/store.js'

/**
 * EtcdStore's own logic without an etcd: the etcd3 client's range call and watch builder
 * replaced by fakes that answer as etcd does (limit and `more`, a header revision,
 * "required revision has been compacted", gRPC's "message larger than max"). The same
 * behaviour against a real etcd is in test/integration/store*.integration.test.ts.
 */
interface RangeRequest {
  key: Buffer
  range_end: Buffer
  limit: number
  revision?: number
}

const kv = (key: string, value: string, revision: number) => ({key: Buffer.from(key), value: Buffer.from(value), create_revision: String(revision), mod_revision: String(revision), version: '1', lease: '0'})

describe('EtcdStore lists in pages', () => {
  let store: EtcdStore
  let requests: RangeRequest[]
  let keys: string[]
  let answer: (request: RangeRequest) => unknown

  beforeEach(async () => {
    store = await EtcdStore.open({endpoints: ['http://127.0.0.1:1'], deadlineMs: 1000})
    requests = []
    keys = Array.from({length: 7}, (_, i) => `/p/${i}`)
    // etcd's range: keys in [key, range_end) at a revision (10 when not given), at most `limit`.
    answer = (request) => {
      const inRange = keys.filter((k) => Buffer.compare(Buffer.from(k), request.key) >= 0 && Buffer.compare(Buffer.from(k), request.range_end) < 0)
      const page = inRange.slice(0, request.limit)
      return {header: {revision: String(request.revision ?? 10)}, kvs: page.map((k) => kv(k, 'v', 5)), more: inRange.length > page.length, count: String(inRange.length)}
    }
    ;(store.client.kv as unknown as {range: unknown}).range = async (request: RangeRequest) => {
      requests.push(request)
      const reply = answer(request)
      if (reply instanceof Error) throw reply
      return reply
    }
  })
  afterEach(async () => {
    await store.close()
  })

  it('reads every page after the first at the first page\'s revision, after the last key or where the range before ended', async () => {
    const listing = await store.list('/p/', {pageSize: 3})
    expect(listing.items.map((i) => i.key)).toEqual(keys)
    expect(listing.revision).toBe(10)
    // After the first page each range ends where a subtree does (range-bounds.ts): here
    // one key's, so every other range is empty.
    expect(requests.map((r) => [r.key.toString(), r.range_end.toString(), r.limit, r.revision])).toEqual([
      ['/p/', '/p0', 3, undefined],
      ['/p/2\0', '/p/3', 3, 10],
      ['/p/3', '/p0', 3, 10],
      ['/p/5\0', '/p/6', 3, 10],
      ['/p/6', '/p0', 3, 10],
    ])
    expect(listing.items[0]).toEqual({key: '/p/0', value: 'v', createRevision: 5, modRevision: 5, version: 1, lease: null})
  })

  it('stops once it has read as many keys as etcd counted in the prefix on the first page', async () => {
    keys = ['a', 'b'].flatMap((sub) => Array.from({length: 5}, (_, i) => `/p/${sub}/${i}`))
    const counted = await store.list('/p/', {pageSize: 4})
    const withCount = requests.map((r) => [r.key.toString(), r.range_end.toString()])
    expect(counted.items.map((i) => i.key)).toEqual(keys)
    // The last call is the one that returned /p/b/4: nothing after it is asked for.
    expect(withCount.every(([start]) => start! <= '/p/b/4')).toBe(true)
    // Without etcd's count, the list asks on until a range that runs to the end of the prefix comes back short.
    const plain = answer
    answer = (request) => ({...(plain(request) as object), count: undefined})
    requests = []
    const uncounted = await store.list('/p/', {pageSize: 4})
    expect(uncounted.items).toEqual(counted.items)
    expect(requests.length).toBeGreaterThan(withCount.length)
    expect(requests.at(-1)!.range_end.toString()).toBe('/p0')
    // A count below what the first page holds is not believed: the list goes on as without one.
    answer = (request) => ({...(plain(request) as object), count: '1'})
    requests = []
    const miscounted = await store.list('/p/', {pageSize: 4})
    expect(miscounted.items).toEqual(counted.items)
  })

  it('asks for the next page before handing this one to onPage, in turns of ITEMS_PER_TURN items', async () => {
    keys = Array.from({length: ITEMS_PER_TURN * 2 + 500 + 3}, (_, i) => `/p/${String(i).padStart(5, '0')}`)
    const calls: {size: number; first: boolean; requested: number}[] = []
    const listing = await store.list('/p/', {pageSize: ITEMS_PER_TURN * 2 + 500, onPage: (items, first) => calls.push({size: [...items].length, first, requested: requests.length})})
    expect(listing.items).toEqual([])
    expect(calls).toEqual([
      {size: ITEMS_PER_TURN, first: true, requested: 2},
      {size: ITEMS_PER_TURN, first: false, requested: 2},
      {size: 500, first: false, requested: 2},
      {size: 3, first: false, requested: 2},
    ])
    // keys and values alone come in the same turns
    const turns: {size: number; first: boolean}[] = []
    await store.list('/p/', {pageSize: ITEMS_PER_TURN * 2 + 500, onKeyValues: (page, first) => turns.push({size: page.forEach(() => {}), first})})
    expect(turns).toEqual(calls.map(({size, first}) => ({size, first})))
  })

  it('without a page size, sizes each page after the first from the bytes per key seen', async () => {
    keys = Array.from({length: 3000}, (_, i) => `/p/${String(i).padStart(4, '0')}`)
    const value = 'v'.repeat(1000)
    answer = (request) => {
      const inRange = keys.filter((k) => Buffer.compare(Buffer.from(k), request.key) >= 0 && Buffer.compare(Buffer.from(k), request.range_end) < 0)
      const page = inRange.slice(0, request.limit)
      return {header: {revision: String(request.revision ?? 10)}, kvs: page.map((k) => kv(k, value, 5)), more: inRange.length > page.length, count: String(inRange.length)}
    }
    const listing = await store.list('/p/')
    expect(listing.items).toHaveLength(3000)
    const perKey = '/p/0000'.length + 1000 + 40
    // The second range (the rest of /p/09) is empty and keeps the limit.
    expect(requests.map((r) => r.limit)).toEqual([1000, Math.floor(TARGET_PAGE_BYTES / perKey), Math.floor(TARGET_PAGE_BYTES / perKey)])
  })

  it.each([
    ['small values: many keys, capped', 1000, 1000 * 60, MAX_PAGE_KEYS],
    ['1 KB values: as many as fill a target page', 1000, 1000 * 1024, TARGET_PAGE_BYTES / 1024],
    ['values of a whole target page: one at a time', 2, 2 * TARGET_PAGE_BYTES, 1],
    ['an empty page keeps the limit', 500, 0, 500],
  ])('the next page limit: %s', (_what, keys, bytes, next) => {
    expect(nextPageLimit(500, keys, bytes)).toBe(next)
  })

  it('asks again with half the limit when a page is too big for one reply', async () => {
    const plain = answer
    answer = (request) => (request.limit > 2 ? Object.assign(new Error('8 RESOURCE_EXHAUSTED: Received message larger than max (4500000 vs 4194304)')) : plain(request))
    const listing = await store.list('/p/', {pageSize: 5})
    expect(listing.items).toHaveLength(7)
    // The first call, refused, asked for 5; every one after it for 2.
    expect(requests.map((r) => r.limit)).toEqual([5, ...Array(requests.length - 1).fill(2)])
    expect(requests.length).toBeGreaterThan(4)
  })

  it('starts over at a new revision when its revision is compacted between pages', async () => {
    const plain = answer
    let compacted = false
    store.beforePage = async () => {
      compacted = true
    }
    answer = (request) => {
      if (compacted && request.revision === 10) {
        compacted = false
        store.beforePage = undefined
        return new Error('etcdserver: mvcc: required revision has been compacted')
      }
      return plain({...request, revision: request.revision ?? (requests.length > 2 ? 12 : undefined)})
    }
    const listing = await store.list('/p/', {pageSize: 4})
    expect(listing.items).toHaveLength(7)
    expect(listing.revision).toBe(12)
    expect(requests.map((r) => r.revision)).toEqual([undefined, 10, undefined, 12, 12])
  })

  it('gives up with exit 4 when every attempt is compacted', async () => {
    answer = (request) => (request.revision ? new Error('etcdserver: mvcc: required revision has been compacted') : {header: {revision: '10'}, kvs: [kv('/p/0', 'v', 5)], more: true})
    await expect(store.list('/p/', {pageSize: 1})).rejects.toMatchObject({exitCode: 4, message: expect.stringContaining('compacted')})
  })

  it('an empty prefix is one call', async () => {
    const listing = await store.list('/none/')
    expect(listing).toEqual({items: [], revision: 10})
    expect(requests).toHaveLength(1)
  })
})

/** Just enough of etcd3's watcher: an emitter with cancel(). */
class FakeWatcher extends EventEmitter {
  cancelled = false
  async cancel(): Promise<void> {
    this.cancelled = true
  }
}

describe('EtcdWatch', () => {
  let store: EtcdStore
  let watchers: {watcher: FakeWatcher; from: string}[]

  beforeEach(async () => {
    store = await EtcdStore.open({endpoints: ['http://127.0.0.1:1'], deadlineMs: 1000})
    watchers = []
    ;(store.client as unknown as {namespace: unknown}).namespace = () => ({
      watch: () => {
        let from = ''
        const builder = {
          prefix: () => builder,
          startRevision: (revision: string) => ((from = revision), builder),
          withPreviousKV: () => builder,
          create: async () => {
            const watcher = new FakeWatcher()
            watchers.push({watcher, from})
            return watcher
          },
        }
        return builder
      },
    })
  })
  afterEach(async () => {
    await store.close()
  })

  const response = (revision: number, events: {type: 'Put' | 'Delete'; key: string; value?: string; prev?: string}[]) => ({
    header: {revision: String(revision)},
    events: events.map((e) => ({type: e.type, kv: kv(e.key, e.value ?? '', revision), prev_kv: e.prev === undefined ? undefined : kv(e.key, e.prev, revision - 1)})),
  })

  it('hands over events in order, reports the connection, and resyncs from a new listing after a cancel', async () => {
    const log: string[] = []
    const list = store.list.bind(store)
    ;(store as unknown as {list: unknown}).list = async () => ({items: [{key: '/w/a', value: '9', createRevision: 20, modRevision: 20, version: 1, lease: null}], revision: 20})
    const watch = await store.watchPrefix('/w/', 6, {
      onEvents: (events: WatchEvent[], revision) => void log.push(`${revision}: ${events.map((e) => `${e.type} ${e.key} ${e.type === 'put' ? e.value : e.prevValue}`).join(', ')}`),
      onResync: (listing) => void log.push(`resync ${listing.items.map((i) => i.key).join(',')} at ${listing.revision}`),
      onConnectionChange: (connected) => void log.push(connected ? 'connected' : 'disconnected'),
    })
    expect(watchers[0]!.from).toBe('6')
    const first = watchers[0]!.watcher
    first.emit('data', response(7, [{type: 'Put', key: '/w/a', value: '1'}, {type: 'Delete', key: '/w/b', prev: '2'}]))
    first.emit('data', response(8, []))
    expect(watch.nextRevision).toBe(9)
    await new Promise((resolve) => setTimeout(resolve, 5))
    first.emit('disconnected', new Error('gone'))
    first.emit('connected')
    first.emit('error', new Error('etcdserver: mvcc: required revision has been compacted'))
    for (let i = 0; i < 20 && watchers.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(first.cancelled).toBe(true)
    expect(watchers[1]!.from).toBe('21')
    watchers[1]!.watcher.emit('data', response(22, [{type: 'Put', key: '/w/c', value: '3'}]))
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(log).toEqual(['7: put /w/a 1, delete /w/b 2', 'disconnected', 'connected', 'resync /w/a at 20', '22: put /w/c 3'])
    await watch.close()
    expect(watchers[1]!.watcher.cancelled).toBe(true)
    ;(store as unknown as {list: unknown}).list = list
  })

  it('a handler that throws does not stop the events after it', async () => {
    const seen: string[] = []
    const warnings = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const watch = await store.watchPrefix('/w/', 1, {
      onEvents: (events) => {
        seen.push(events[0]!.key)
        if (seen.length === 1) throw new Error('handler bug')
      },
      onResync: () => {},
    })
    watchers[0]!.watcher.emit('data', response(2, [{type: 'Put', key: '/w/1', value: 'x'}]))
    watchers[0]!.watcher.emit('data', response(3, [{type: 'Put', key: '/w/2', value: 'x'}]))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(seen).toEqual(['/w/1', '/w/2'])
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining('handler bug'))
    warnings.mockRestore()
    await watch.close()
  })
})
