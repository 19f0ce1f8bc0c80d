import {afterEach, beforeEach, describe, expect, it, jest} from '@jest/globals'
import {LeaseKeeper, actionAfterKeepAlive, guardedRestore, keepAliveIntervalMs, nextTickMs, restoreBatches} from '../../src/store/kept-lease.js'
import {MAX_TRANSACTION_OPS} from '../../src/store/store.js'
import {MemoryStore} from '../helpers/memory-store.js'

describe('the lease keeper decisions', () => {
  it.each([
    ['alive', 0, 'nothing'],
    ['alive', 3, 'restore'],
    ['lost', 0, 'regrant'],
    ['lost', 3, 'regrant'],
  ] as const)('a keep-alive that says %s with %d keys left to restore: %s', (outcome, left, action) => {
    expect(actionAfterKeepAlive(outcome, left)).toBe(action)
  })

  it.each([
    ['absent: it went with the old lease', null, {kind: 'write', expectedModRevision: 0}],
    ['still ours (nobody wrote)', {value: 'mine', modRevision: 7}, {kind: 'write', expectedModRevision: 7}],
    ['someone else wrote it', {value: 'theirs', modRevision: 9}, {kind: 'conflict', theirValue: 'theirs'}],
  ] as const)('a guarded key %s', (_what, existing, decision) => {
    expect(guardedRestore('mine', existing)).toEqual(decision)
  })

  it.each([
    // failures in a row, TTL s, wait (at the top of the jitter range)
    [0, 30, 10_000],
    [0, 0.5, 300],
    [1, 30, 500],
    [2, 30, 1000],
    [5, 30, 8000],
    [9, 30, 10_000],
    [3, 3, 1000],
  ])('after %d failures with a %d s TTL the next tick is in %d ms', (failures, ttl, ms) => {
    expect(nextTickMs(failures, ttl, () => 0.999_999)).toBe(ms)
    expect(nextTickMs(failures, ttl, () => 0)).toBe(failures === 0 ? ms : Math.round(ms / 2))
  })

  it('keeps alive every third of the TTL', () => {
    expect(keepAliveIntervalMs(30)).toBe(10_000)
  })

  it.each([
    [0, []],
    [1, [1]],
    [MAX_TRANSACTION_OPS, [MAX_TRANSACTION_OPS]],
    [MAX_TRANSACTION_OPS + 1, [MAX_TRANSACTION_OPS, 1]],
    [300, [128, 128, 44]],
  ])('%d keys to put back go in transactions of %j', (count, sizes) => {
    expect(restoreBatches(Array.from({length: count}, (_, i) => i)).map((b) => b.length)).toEqual(sizes)
  })
})

describe('the lease keeper on a MemoryStore', () => {
  let store: MemoryStore
  let other: MemoryStore
  const log: string[] = []
  const handlers = {
    onRegranted: (id: string, old: string) => void log.push(`regranted ${old} -> ${id}`),
    onConflict: (key: string, theirs: string) => void log.push(`conflict ${key}=${theirs}`),
    onUnreachable: () => void log.push('unreachable'),
    onReachable: () => void log.push('reachable'),
  }

  beforeEach(() => {
    jest.useFakeTimers({now: 0, doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask']})
    store = new MemoryStore()
    other = store.connect()
    log.length = 0
  })
  afterEach(async () => {
    await store.close()
    await other.close()
    jest.useRealTimers()
    jest.restoreAllMocks()
  })

  const values = async (prefix: string) => (await other.list(prefix)).items.map((i) => `${i.key}=${i.value}@${i.lease === null ? 'none' : 'lease'}`)

  it('keeps the lease alive for as long as it runs', async () => {
    const kept = await store.keepLease(3, handlers)
    await kept.put('/k', 'v')
    await jest.advanceTimersByTimeAsync(60_000)
    expect(await values('/k')).toEqual(['/k=v@lease'])
    expect(other.leases().get(kept.id)?.keys).toEqual(['/k'])
    expect(log).toEqual([])
    await kept.stop()
    // Stopped without revoke: the keys go when the TTL runs out.
    await jest.advanceTimersByTimeAsync(3001)
    expect(await values('/k')).toEqual([])
  })

  it('backs off while the store is unreachable and starts from the shortest delay again after a success', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.999_999) // the top of each jitter range
    const calls: number[] = []
    const keepAlive = store.keepAliveOnce.bind(store)
    jest.spyOn(store, 'keepAliveOnce').mockImplementation((id) => {
      calls.push(Date.now())
      return keepAlive(id)
    })
    const ttlSeconds = 24 * 3600
    const interval = (ttlSeconds * 1000) / 3
    const kept = await store.keepLease(ttlSeconds, handlers)
    store.setDown(true)
    await jest.advanceTimersByTimeAsync(interval + 500 + 1000 + 2000 + 4000 + 8000 + 10_000 + 10_000)
    const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!)
    expect(calls[0]).toBe(interval)
    expect(gaps(calls)).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000])

    store.setDown(false)
    await jest.advanceTimersByTimeAsync(10_000) // the next retry succeeds
    store.setDown(true)
    const before = calls.length
    await jest.advanceTimersByTimeAsync(interval + 500 + 1000)
    expect(gaps(calls.slice(before - 1))).toEqual([interval, 500, 1000])
    expect(log).toEqual(['unreachable', 'reachable', 'unreachable'])
    store.setDown(false)
    await kept.stop()
  })

  it('after an outage longer than the TTL, grants a new lease and puts every key back, putAll keys included', async () => {
    const kept = await store.keepLease(3, handlers)
    const first = kept.id
    await kept.put('/a/one', '1')
    await kept.putAll([
      {key: '/a/two', value: '2'},
      {key: '/a/three', value: '3'},
    ])
    store.setDown(true)
    await jest.advanceTimersByTimeAsync(10_000)
    // The store expired the lease meanwhile: another host sees the keys gone.
    expect(await values('/a/')).toEqual([])
    expect(other.leases().has(first)).toBe(false)
    store.setDown(false)
    await jest.advanceTimersByTimeAsync(3000)
    expect(log).toEqual(['unreachable', `regranted ${first} -> ${kept.id}`, 'reachable'])
    expect(kept.id).not.toBe(first)
    expect(await values('/a/')).toEqual(['/a/one=1@lease', '/a/three=3@lease', '/a/two=2@lease'])
    expect(other.leases().get(kept.id)?.keys).toEqual(['/a/one', '/a/three', '/a/two'])
    await kept.stop({revoke: true})
    expect(await values('/a/')).toEqual([])
  })

  it('puts many keys back in transactions of at most MAX_TRANSACTION_OPS', async () => {
    const kept = await store.keepLease(3, handlers)
    for (let i = 0; i < 3; i++) await kept.putAll(Array.from({length: 100}, (_, j) => ({key: `/many/${i}-${String(j).padStart(3, '0')}`, value: 'x'})))
    await other.revokeLease(kept.id)
    const transaction = jest.spyOn(store, 'transaction')
    await jest.advanceTimersByTimeAsync(1000)
    expect(transaction.mock.calls.map(([ops]) => ops.length)).toEqual([128, 128, 44])
    expect((await other.list('/many/')).items.filter((i) => i.lease === kept.id)).toHaveLength(300)
    await kept.stop({revoke: true})
  })

  it('a key forgotten while a restore is in flight is skipped, of every kind, without failing the tick', async () => {
    const kept = await store.keepLease(3, handlers)
    for (let i = 0; i < 2; i++) await kept.putAll(Array.from({length: 100}, (_, j) => ({key: `/gone/p-${String(i * 100 + j).padStart(3, '0')}`, value: 'x'})))
    await store.put('/gone/entry', 'e')
    expect(await kept.putIfPresent('/gone/c-1', 'x', '/gone/entry')).toBe(true)
    expect(await kept.putIfPresent('/gone/c-2', 'x', '/gone/entry')).toBe(true)
    expect(await kept.create('/gone/g-1', 'x')).toBe(true)
    await other.revokeLease(kept.id)
    const transaction = store.transaction.bind(store)
    let calls = 0
    jest.spyOn(store, 'transaction').mockImplementation(async (ops, conditions) => {
      // During the first batch: a later put key, a conditional key and the guarded key go.
      if (++calls === 1) for (const key of ['/gone/p-199', '/gone/c-2', '/gone/g-1']) kept.forget(key)
      return transaction(ops, conditions)
    })
    await jest.advanceTimersByTimeAsync(1000)
    expect(log.filter((l) => l === 'unreachable')).toEqual([])
    const back = (await other.list('/gone/')).items.filter((i) => i.lease === kept.id).map((i) => i.key)
    expect(back).toHaveLength(200)
    expect(back).toContain('/gone/c-1')
    expect(back).not.toContain('/gone/p-199')
    expect(back).not.toContain('/gone/c-2')
    expect([...(kept as LeaseKeeper).attachedKeys().keys()]).toHaveLength(200)
    await kept.stop({revoke: true})
  })

  it('a key forgotten while its write is in flight is not kept, so a re-grant does not put it back', async () => {
    const kept = await store.keepLease(3, handlers)
    const put = store.put.bind(store)
    jest.spyOn(store, 'put').mockImplementationOnce(async (key, value, options) => {
      kept.forget(key)
      return put(key, value, options)
    })
    await kept.put('/late/k', 'x')
    expect([...(kept as LeaseKeeper).attachedKeys().keys()]).toEqual([])
    await store.put('/late/entry', 'e')
    const transaction = store.transaction.bind(store)
    jest.spyOn(store, 'transaction').mockImplementationOnce(async (ops, conditions) => {
      kept.forget('/late/c')
      return transaction(ops, conditions)
    })
    expect(await kept.putIfPresent('/late/c', 'x', '/late/entry')).toBe(true)
    expect([...(kept as LeaseKeeper).attachedKeys().keys()]).toEqual([])
    // Both were written; the caller deletes them, and nothing brings them back.
    await other.delete('/late/k')
    await other.delete('/late/c')
    await other.revokeLease(kept.id)
    await jest.advanceTimersByTimeAsync(1000)
    expect(log.filter((l) => l.startsWith('regranted'))).toHaveLength(1)
    expect(await values('/late/')).toEqual(['/late/entry=e@none'])
    await kept.stop({revoke: true})
  })

  it('a value written while a restore is in flight wins: the key is put back again on the next tick', async () => {
    const kept = await store.keepLease(3, handlers)
    await kept.put('/newer/plain', 'old')
    await store.put('/newer/entry', 'e')
    expect(await kept.putIfPresent('/newer/cond', 'old', '/newer/entry')).toBe(true)
    await other.revokeLease(kept.id)
    const transaction = store.transaction.bind(store)
    let restores = 0
    jest.spyOn(store, 'transaction').mockImplementation(async (ops, conditions) => {
      // Each restore transaction: the owner writes a newer value first, which the restore then overwrites.
      if (ops.some((op) => op.type === 'put' && op.value === 'old') && ++restores <= 2) {
        const key = ops[0]!.key
        if (key === '/newer/plain') await kept.put(key, 'new')
        else await kept.putIfPresent(key, 'new', '/newer/entry')
      }
      return transaction(ops, conditions)
    })
    await jest.advanceTimersByTimeAsync(1000)
    expect(restores).toBe(2)
    expect(await values('/newer/')).toEqual(['/newer/cond=old@lease', '/newer/entry=e@none', '/newer/plain=old@lease'])
    await jest.advanceTimersByTimeAsync(1000)
    expect(await values('/newer/')).toEqual(['/newer/cond=new@lease', '/newer/entry=e@none', '/newer/plain=new@lease'])
    await kept.stop({revoke: true})
  })

  it('a restore cut short by an outage finishes on a later tick without granting again', async () => {
    const kept = await store.keepLease(3, handlers)
    for (let i = 0; i < 2; i++) await kept.putAll(Array.from({length: 100}, (_, j) => ({key: `/half/${i}-${String(j).padStart(3, '0')}`, value: 'x'})))
    await other.revokeLease(kept.id)
    const transaction = store.transaction.bind(store)
    let calls = 0
    jest.spyOn(store, 'transaction').mockImplementation((ops, conditions) => {
      if (++calls === 2) store.setDown(true)
      return transaction(ops, conditions)
    })
    await jest.advanceTimersByTimeAsync(1000)
    expect((await other.list('/half/')).items).toHaveLength(128)
    store.setDown(false)
    await jest.advanceTimersByTimeAsync(3000)
    expect((await other.list('/half/')).items.filter((i) => i.lease === kept.id)).toHaveLength(200)
    expect(other.leases().size).toBe(1)
    expect(log.filter((l) => l.startsWith('regranted'))).toHaveLength(1)
    await kept.stop({revoke: true})
  })

  it('leaves a guarded key to whoever took it, keeps the ones nobody took, and forgets forgotten keys', async () => {
    const kept = await store.keepLease(3, handlers)
    expect(await kept.create('/g/taken', 'mine')).toBe(true)
    expect(await kept.create('/g/free', 'mine')).toBe(true)
    expect(await kept.create('/g/free', 'again')).toBe(false)
    await kept.put('/g/forgotten', 'x')
    kept.forget('/g/forgotten')
    await other.revokeLease(kept.id)
    await other.put('/g/taken', 'theirs')
    await jest.advanceTimersByTimeAsync(1000)
    expect(log).toEqual(['conflict /g/taken=theirs', `regranted ${log[1]?.split(' ')[1]} -> ${kept.id}`])
    expect(await values('/g/')).toEqual(['/g/free=mine@lease', '/g/taken=theirs@none'])
    expect([...(kept as LeaseKeeper).attachedKeys().keys()]).toEqual(['/g/free'])
    await kept.stop({revoke: true})
  })

  it('a guarded key taken between the read and the write is a conflict too', async () => {
    const kept = await store.keepLease(3, handlers)
    await kept.create('/race/k', 'mine')
    await other.revokeLease(kept.id)
    const compareAndSwap = store.compareAndSwap.bind(store)
    jest.spyOn(store, 'compareAndSwap').mockImplementation(async (key, value, expected, options) => {
      await other.put(key, 'faster')
      return compareAndSwap(key, value, expected, options)
    })
    await jest.advanceTimersByTimeAsync(1000)
    expect(log[0]).toBe('conflict /race/k=faster')
    expect(await values('/race/')).toEqual(['/race/k=faster@none'])
    await kept.stop({revoke: true})
  })

  it('putAll deletes the keys it is given and stops keeping them', async () => {
    const kept = await store.keepLease(3, handlers)
    await kept.putAll([
      {key: '/d/a', value: '1'},
      {key: '/d/b', value: '2'},
    ])
    await kept.putAll([{key: '/d/c', value: '3'}], ['/d/a'])
    expect(await values('/d/')).toEqual(['/d/b=2@lease', '/d/c=3@lease'])
    expect([...(kept as LeaseKeeper).attachedKeys().keys()].sort()).toEqual(['/d/b', '/d/c'])
    await kept.stop({revoke: true})
  })

  it('a failing store on a tick is retried, never thrown out of the timer', async () => {
    const kept = (await LeaseKeeper.start(store, 3, handlers, {random: () => 0})) as LeaseKeeper
    jest.spyOn(store, 'keepAliveOnce').mockRejectedValueOnce(new Error('etcdserver: mvcc: database space exceeded'))
    await kept.tick()
    expect(log).toEqual(['unreachable'])
    await kept.tick()
    expect(log).toEqual(['unreachable', 'reachable'])
    await kept.stop({revoke: true})
  })
})
