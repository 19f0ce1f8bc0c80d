import {afterEach, beforeEach, describe, expect, it, jest} from '@jest/globals'
import type {WatchEvent} from '../../src/store/store.js'
import {MemoryStore} from '../helpers/memory-store.js'

/**
 * What the MemoryStore can do that etcd cannot be made to do on demand in a unit test:
 * one host down while the others write, calls that hang, time that jumps. (What it
 * shares with etcd is proved by the contract suite, memory-store-contract.test.ts.)
 */
describe('MemoryStore test controls', () => {
  let store: MemoryStore
  let other: MemoryStore

  beforeEach(() => {
    jest.useFakeTimers({now: 0, doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask']})
    store = new MemoryStore()
    other = store.connect()
  })
  afterEach(async () => {
    await store.close()
    await other.close()
    jest.useRealTimers()
  })

  const watchLog = async (prefix: string, from?: number) => {
    const log: string[] = []
    const watch = await store.watchPrefix(prefix, from ?? store.currentRevision + 1, {
      onEvents: (events: WatchEvent[]) => void log.push(...events.map((e) => `${e.type} ${e.key}`)),
      onResync: (listing) => void log.push(`resync ${listing.items.map((i) => i.key).join(',')}`),
      onConnectionChange: (connected) => void log.push(connected ? 'connected' : 'disconnected'),
    })
    return {log, watch}
  }

  it('a client that is down fails every call with exit 4 while other clients go on', async () => {
    store.setDown(true)
    expect(store.down).toBe(true)
    await expect(store.get('/k')).rejects.toMatchObject({exitCode: 4, message: expect.stringContaining('memory://store')})
    await expect(store.list('/')).rejects.toMatchObject({exitCode: 4})
    await expect(store.put('/k', 'v')).rejects.toMatchObject({exitCode: 4})
    expect(await other.put('/k', 'v')).toBeGreaterThan(1)
    store.setDown(false)
    expect((await store.get('/k'))?.value).toBe('v')
  })

  it("a down client's watch says so, then hands over everything others wrote meanwhile, in order", async () => {
    const {log, watch} = await watchLog('/w/')
    await other.put('/w/a', '1')
    await store.idle()
    store.setDown(true)
    await other.put('/w/b', '2')
    await other.delete('/w/a')
    await store.idle()
    expect(log).toEqual(['put /w/a', 'disconnected'])
    store.setDown(false)
    await store.idle()
    expect(log).toEqual(['put /w/a', 'disconnected', 'connected', 'put /w/b', 'delete /w/a'])
    await watch.close()
  })

  it('a watch started while its client is down catches up once it is back', async () => {
    store.setDown(true)
    const {log, watch} = await watchLog('/late/', 1)
    await other.put('/late/a', '1')
    store.setDown(false)
    await store.idle()
    expect(log).toEqual(['disconnected', 'connected', 'put /late/a'])
    await watch.close()
  })

  it('a down client whose revision was compacted meanwhile resyncs when it is back', async () => {
    const {log, watch} = await watchLog('/c/')
    store.setDown(true)
    await other.put('/c/a', '1')
    await other.put('/c/b', '2')
    other.compact()
    await store.idle()
    store.setDown(false)
    await store.idle()
    await other.put('/c/c', '3')
    await store.idle()
    expect(log).toEqual(['disconnected', 'connected', 'resync /c/a,/c/b', 'put /c/c'])
    await watch.close()
  })

  it('a hanging client fails each call at its deadline as unreachable', async () => {
    const slow = store.connect({deadlineMs: 2000})
    slow.setHanging(true)
    const call = slow.get('/k')
    const outcome = expect(call).rejects.toMatchObject({exitCode: 4, message: expect.stringContaining('no answer within 2000 ms')})
    await jest.advanceTimersByTimeAsync(2000)
    await outcome
    slow.setHanging(false)
    expect(await slow.get('/k')).toBeNull()
    await slow.close()
  })

  it('adds latency to every call when asked', async () => {
    store.latencyMs = 100
    let done = false
    const call = store.put('/k', 'v').then(() => (done = true))
    await jest.advanceTimersByTimeAsync(99)
    expect(done).toBe(false)
    await jest.advanceTimersByTimeAsync(1)
    await call
    expect(done).toBe(true)
  })

  it('expires a lease on its own timer, with nobody calling, and advance() jumps the clock', async () => {
    const lease = await store.grantLease(5)
    await store.put('/l/a', '1', {lease})
    const {log, watch} = await watchLog('/l/')
    await jest.advanceTimersByTimeAsync(4999)
    expect(store.leases().get(lease)).toEqual({ttlSeconds: 5, keys: ['/l/a']})
    expect((await store.leaseTimeToLive(lease))?.ttlSeconds).toBe(1)
    await jest.advanceTimersByTimeAsync(10)
    await store.idle()
    expect(log).toEqual(['delete /l/a'])
    const second = await store.grantLease(60)
    store.advance(61_000)
    expect(store.leases().has(second)).toBe(false)
    await watch.close()
  })

  it('a closed client refuses calls and watches', async () => {
    const client = store.connect()
    await client.close()
    await expect(client.get('/k')).rejects.toMatchObject({exitCode: 4})
    await expect(client.watchPrefix('/', 1, {onEvents: () => {}, onResync: () => {}})).rejects.toMatchObject({exitCode: 4})
  })

  it('keeps going after a handler fails', async () => {
    const warnings = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const seen: string[] = []
    const watch = await store.watchPrefix('/f/', 1, {
      onEvents: (events) => {
        seen.push(events[0]!.key)
        if (seen.length === 1) throw new Error('handler bug')
      },
      onResync: () => {},
    })
    await other.put('/f/a', '1')
    await other.put('/f/b', '2')
    await store.idle()
    expect(seen).toEqual(['/f/a', '/f/b'])
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining('handler bug'))
    warnings.mockRestore()
    await watch.close()
  })

  it('compaction refuses the past, the future, and reads below it; a list that keeps being compacted gives up with exit 4', async () => {
    await store.put('/x', '1')
    const revision = await store.put('/x', '2')
    expect(() => store.compact(revision + 5)).toThrow(/future revision/)
    store.compact(revision)
    expect(store.compactedRevision).toBe(revision)
    expect(() => store.compact(revision)).toThrow(/compacted/)
    for (let i = 0; i < 3; i++) await store.put(`/p/${i}`, 'x')
    store.beforePage = async () => {
      await other.put('/p/0', 'again')
      other.compact()
    }
    await expect(store.list('/p/', {pageSize: 1})).rejects.toMatchObject({exitCode: 4, message: expect.stringContaining('compacted')})
    expect(store.pagesRead).toBe(12)
  })

  it('refuses a transaction that writes one key twice, as etcd does', async () => {
    await expect(
      store.transaction([
        {type: 'put', key: '/dup', value: '1'},
        {type: 'delete', key: '/dup'},
      ]),
    ).rejects.toThrow(/duplicate key/)
  })
})
