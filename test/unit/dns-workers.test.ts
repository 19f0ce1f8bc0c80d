import {describe, expect, it} from '@jest/globals'
import {restartDelayMs, workerReadiness} from '../../src/dns/workers.js'
import {Backoff} from '../../src/lib/retry.js'

describe('worker restarts', () => {
  it('follow the retry policy: ever slower while a worker keeps dying, at once again after it ran a while', () => {
    const backoff = new Backoff({initialMs: 500, maxMs: 10_000}, () => 0.999_999)
    const quickDeaths = [1, 2, 3, 4, 5, 6, 7].map(() => restartDelayMs(backoff, 200, 30_000))
    expect(quickDeaths).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000])
    expect(restartDelayMs(backoff, 45_000, 30_000)).toBe(500)
  })
})

describe('readiness of the workers', () => {
  it('is ready once one worker serves, while the others still load (they have bound no socket yet)', () => {
    expect(workerReadiness([], 2)).toBe('0 of 2 workers serving')
    expect(workerReadiness([{listening: false}], 2)).toBe('0 of 2 workers serving')
    expect(workerReadiness([{listening: true}], 2)).toBeUndefined()
    expect(workerReadiness([{listening: true}, {listening: false}], 2)).toBeUndefined()
    expect(workerReadiness([{listening: true}, {listening: true}], 2)).toBeUndefined()
  })

  it('is not ready while a serving worker has lost etcd, and says why', () => {
    expect(workerReadiness([{listening: true}, {listening: true, notReady: 'etcd unreachable'}], 2)).toBe('etcd unreachable')
    // one still loading has no say: it answers nothing
    expect(workerReadiness([{listening: true}, {listening: false, notReady: 'etcd unreachable'}], 2)).toBeUndefined()
  })
})
