import {describe, expect, it} from '@jest/globals'
import {initialState, step} from '../../src/health/thresholds.js'
import {statusOfExit, statusOfHttp} from '../../src/health/result.js'
import {truncateOutput} from '../../src/svc/output.js'
import type {HealthStatus} from '../../src/svc/model.js'

function run(start: HealthStatus, probes: HealthStatus[], successBeforePassing: number, failuresBeforeCritical: number): HealthStatus[] {
  let state = initialState(start)
  return probes.map((p) => (state = step(state, p, {successBeforePassing, failuresBeforeCritical}).state).status)
}

describe('thresholds', () => {
  it('without thresholds every result is published at once', () => {
    expect(run('critical', ['passing', 'critical', 'warning', 'passing'], 0, 0)).toEqual(['passing', 'critical', 'warning', 'passing'])
    expect(run('critical', ['passing', 'critical'], 1, 1)).toEqual(['passing', 'critical'])
  })

  it('needs a streak of successes to turn passing, and a streak of failures to turn critical', () => {
    expect(run('critical', ['passing', 'passing', 'critical', 'passing', 'passing', 'passing'], 3, 0)).toEqual(['critical', 'critical', 'critical', 'critical', 'critical', 'passing'])
    expect(run('passing', ['critical', 'passing', 'critical', 'critical', 'critical'], 0, 3)).toEqual(['passing', 'passing', 'passing', 'passing', 'critical'])
  })

  it('publishes warning at once and says whether the output goes with the status', () => {
    expect(run('passing', ['warning', 'critical', 'critical'], 0, 2)).toEqual(['warning', 'warning', 'critical'])
    const below = step(initialState('passing'), 'critical', {successBeforePassing: 0, failuresBeforeCritical: 2})
    expect(below.accepted).toBe(false)
    expect(step(below.state, 'critical', {successBeforePassing: 0, failuresBeforeCritical: 2}).accepted).toBe(true)
  })

  it("reads HTTP statuses and exit codes as Consul does", () => {
    expect([200, 204, 299, 301, 404, 429, 500, 503].map(statusOfHttp)).toEqual(['passing', 'passing', 'passing', 'critical', 'critical', 'warning', 'critical', 'critical'])
    expect([0, 1, 2, 127, undefined].map(statusOfExit)).toEqual(['passing', 'warning', 'critical', 'critical', 'critical'])
  })

  it('keeps at most 4 KB of output without splitting a character', () => {
    expect(truncateOutput('ok')).toBe('ok')
    expect(Buffer.byteLength(truncateOutput('x'.repeat(10_000)))).toBe(4096)
    const euros = truncateOutput('€'.repeat(2000)) // 3 bytes each
    expect(Buffer.byteLength(euros)).toBe(4095)
    expect(euros).toBe('€'.repeat(1365))
  })
})
