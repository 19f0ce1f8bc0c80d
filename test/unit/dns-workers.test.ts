import {describe, expect, it} from '@jest/globals'
import {restartDelayMs} from '../../src/dns/workers.js'
import {Backoff} from '../../src/lib/retry.js'

describe('worker restarts', () => {
  it('follow the retry policy: ever slower while a worker keeps dying, at once again after it ran a while', () => {
    const backoff = new Backoff({initialMs: 500, maxMs: 10_000}, () => 0.999_999)
    const quickDeaths = [1, 2, 3, 4, 5, 6, 7].map(() => restartDelayMs(backoff, 200, 30_000))
    expect(quickDeaths).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000])
    expect(restartDelayMs(backoff, 45_000, 30_000)).toBe(500)
  })
})
