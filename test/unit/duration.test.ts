import {describe, expect, it} from '@jest/globals'
import {formatDuration, parseDurationMs, requireDurationMs} from '../../src/lib/duration.js'
import {UsageError} from '../../src/lib/errors.js'

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['24h', 86_400_000],
    ['1.5s', 1500],
    ['10', 10_000],
    ['1d', 86_400_000],
  ])('%s is %d ms', (text, ms) => expect(parseDurationMs(text)).toBe(ms))

  it.each(['', 'abc', '10x', '5m garbage', '-1s', 's'])('%j does not parse', (text) => expect(parseDurationMs(text)).toBeUndefined())

  it('names the flag and the minimum', () => {
    expect(() => requireDurationMs('--ttl', 'soon')).toThrow(new UsageError('--ttl: "soon" is not a duration', 'use e.g. 500ms, 30s, 5m, 24h'))
    expect(() => requireDurationMs('--ttl', '30s', 60_000)).toThrow(/--ttl: 30s is too short/)
    expect(requireDurationMs('--ttl', '2m', 60_000)).toBe(120_000)
  })

  it('formats', () => {
    expect(formatDuration(90_000)).toBe('1m30s')
    expect(formatDuration(250)).toBe('250ms')
    expect(formatDuration(86_400_000)).toBe('24h')
  })
})
