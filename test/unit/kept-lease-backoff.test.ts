import {afterEach, describe, expect, it, jest} from '@jest/globals'
import type {EtcdStore} from '../../src/store/etcd-store.js'
import {EtcdKeptLease} from '../../src/store/etcd-kept-lease.js'

/** Just enough of a store for a kept lease: keep-alives that fail while `down` is set. */
function fakeStore(state: {down: boolean; calls: number[]}): EtcdStore {
  return {
    grantLease: async () => '1',
    keepAliveOnce: async () => {
      state.calls.push(Date.now())
      if (state.down) throw new Error('unreachable')
      return true
    },
    revokeLease: async () => {},
  } as unknown as EtcdStore
}

describe('kept lease retries', () => {
  afterEach(() => {
    jest.useRealTimers()
    jest.restoreAllMocks()
  })

  it('back off while the store is unreachable and start from the shortest delay again after a success', async () => {
    jest.useFakeTimers({now: 0})
    jest.spyOn(Math, 'random').mockReturnValue(0.999_999) // the top of each jitter range
    const state = {down: true, calls: [] as number[]}
    const events: string[] = []
    const ttlSeconds = 24 * 3600
    const interval = (ttlSeconds * 1000) / 3
    const lease = await EtcdKeptLease.start(fakeStore(state), ttlSeconds, {onUnreachable: () => events.push('unreachable'), onReachable: () => events.push('reachable')})
    await jest.advanceTimersByTimeAsync(interval + 500 + 1000 + 2000 + 4000 + 8000 + 10_000 + 10_000)
    const gaps = (calls: number[]) => calls.slice(1).map((t, i) => t - calls[i])
    expect(state.calls[0]).toBe(interval)
    expect(gaps(state.calls)).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000])

    state.down = false
    await jest.advanceTimersByTimeAsync(10_000) // the next retry succeeds
    state.down = true
    const before = state.calls.length
    await jest.advanceTimersByTimeAsync(interval + 500 + 1000)
    expect(gaps(state.calls.slice(before - 1))).toEqual([interval, 500, 1000])
    expect(events).toEqual(['unreachable', 'reachable', 'unreachable'])
    await lease.stop()
  })
})
