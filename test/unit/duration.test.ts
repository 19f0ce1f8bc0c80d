import {describe, expect, it} from '@jest/globals'
import {formatDuration, parseDurationMs, requireDuration} from '../../src/lib/duration.js'
import {ExitCode, InvalidValueError} from '../../src/lib/errors.js'

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

  it.each([
    ['does not parse', 'soon', 0, Infinity, '"soon" is not a duration', 'use e.g. 500ms, 30s, 5m, 24h'],
    ['is under the minimum', '30s', 60_000, Infinity, '30s is too short', 'the minimum is 1m'],
    ['is over the maximum', '2h', 0, 3_600_000, '2h is too long', 'the maximum is 1h'],
  ])('names the field, never a flag, when the value %s', (_, text, minMs, maxMs, problem, hint) => {
    let thrown: unknown
    try {
      requireDuration('ttl', text, minMs, maxMs)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(InvalidValueError)
    const error = thrown as InvalidValueError
    expect([error.field, error.problem, error.hint, error.exitCode]).toEqual(['ttl', problem, hint, ExitCode.usage])
    expect(error.oneLine()).toBe(`ttl: ${problem} (${hint})`)
  })

  it.each([
    ['2m', 60_000, 120_000],
    ['1m', 60_000, 60_000],
    ['500ms', 0, 500],
  ])('accepts %s at a minimum of %d ms', (text, minMs, ms) => expect(requireDuration('ttl', text, minMs)).toBe(ms))

  it('formats', () => {
    expect(formatDuration(90_000)).toBe('1m30s')
    expect(formatDuration(250)).toBe('250ms')
    expect(formatDuration(86_400_000)).toBe('24h')
  })
})
