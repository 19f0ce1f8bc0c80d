import {describe, expect, it} from '@jest/globals'
import {backoffCeilingMs, backoffDelayMs} from '../../src/lib/retry.js'
import {keptLeaseRetryMs} from '../../src/store/kept-lease.js'

describe('capped exponential backoff with jitter', () => {
  const options = {initialMs: 500, maxMs: 10_000}

  it('doubles from the initial delay up to the cap, and stays there', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50, 10_000].map((n) => backoffCeilingMs(n, options))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000])
    expect(backoffCeilingMs(0, options)).toBe(500)
  })

  it('waits between half and all of the ceiling, as the random source says', () => {
    expect(backoffDelayMs(3, options, () => 0)).toBe(1000)
    expect(backoffDelayMs(3, options, () => 0.5)).toBe(1500)
    expect(backoffDelayMs(3, options, () => 0.999_999)).toBe(2000)
    for (let n = 1; n < 40; n++) {
      const delay = backoffDelayMs(n, options)
      expect(delay).toBeGreaterThanOrEqual(backoffCeilingMs(n, options) / 2)
      expect(delay).toBeLessThanOrEqual(backoffCeilingMs(n, options))
    }
  })
})

describe('kept lease retry schedule', () => {
  const ceiling = (failures: number, ttlSeconds: number) => keptLeaseRetryMs(failures, ttlSeconds, () => 0.999_999)

  it('caps at 10 s for a long TTL', () => {
    expect([1, 2, 3, 4, 5, 6, 20].map((n) => ceiling(n, 86_400))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000])
  })

  it('caps at a third of a short TTL, so a retry lands before the lease can expire', () => {
    expect([1, 2, 3, 10].map((n) => ceiling(n, 2))).toEqual([500, 667, 667, 667])
    expect([1, 2, 3].map((n) => ceiling(n, 12))).toEqual([500, 1000, 2000])
    expect(ceiling(4, 12)).toBe(4000)
    expect(ceiling(5, 12)).toBe(4000)
    expect(keptLeaseRetryMs(1, 1, () => 0)).toBe(167)
  })
})
