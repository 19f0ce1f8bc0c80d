import {describe, expect, it} from '@jest/globals'
import {decideProbe, deregisterDue, follow, ttlDeadlineIntervalMs, ttlDeadlineStep} from '../../src/health/decisions.js'
import {initialState} from '../../src/health/thresholds.js'
import type {HealthRecord, HealthStatus, ServiceRegistration} from '../../src/svc/model.js'

const now = new Date('2025-01-01T00:01:00Z')
const record = (status: HealthStatus, output = 'out', since = '2025-01-01T00:00:00Z'): HealthRecord => ({status, output, since, checkedAt: since, prober: 'n1'})
const tcp = {type: 'tcp' as const, address: '10.0.0.1:80', intervalMs: 1000, timeoutMs: 500, successBeforePassing: 0, failuresBeforeCritical: 0}
const registration = (over: Partial<ServiceRegistration>): ServiceRegistration => ({id: 'a', name: 'web', namespace: 'default', address: '10.0.0.1', port: 80, protocol: 'tcp', tags: [], meta: {}, weight: 1, node: 'n1', registeredAt: '', ...over})

describe('which instances a prober follows', () => {
  it.each<[string, Partial<ServiceRegistration>, string]>([
    ['another node', {node: 'n2', check: tcp}, 'none'],
    ['no check', {}, 'none'],
    ['an active check', {check: tcp}, 'probe'],
    ['a TTL check without a deadline', {check: {type: 'ttl', ttlMs: 1000}}, 'none'],
    ['a TTL check with a deadline', {check: {type: 'ttl', ttlMs: 1000, deregisterCriticalAfterMs: 60_000}}, 'ttl-deadline'],
  ])('%s: %#', (_, over, kind) => {
    expect(follow('n1', registration(over)).kind).toBe(kind)
  })
})

describe('what a probe result publishes', () => {
  it.each<[string, HealthStatus, HealthRecord | undefined, {status: HealthStatus; output: string}, {successBeforePassing: number; failuresBeforeCritical: number}, HealthStatus, boolean, string | undefined]>([
    ['first result, no record', 'critical', undefined, {status: 'passing', output: 'ok'}, {successBeforePassing: 0, failuresBeforeCritical: 0}, 'passing', true, 'ok'],
    ['same status, same output: no write', 'passing', record('passing', 'ok'), {status: 'passing', output: 'ok'}, {successBeforePassing: 0, failuresBeforeCritical: 0}, 'passing', false, undefined],
    ['same status, new output: write, since kept', 'passing', record('passing', 'ok'), {status: 'passing', output: 'ok 2'}, {successBeforePassing: 0, failuresBeforeCritical: 0}, 'passing', false, 'ok 2'],
    ['below the success threshold: status and output stay', 'critical', record('critical', 'down'), {status: 'passing', output: 'up'}, {successBeforePassing: 2, failuresBeforeCritical: 0}, 'critical', false, undefined],
    ['below the failure threshold', 'passing', record('passing', 'up'), {status: 'critical', output: 'down'}, {successBeforePassing: 0, failuresBeforeCritical: 3}, 'passing', false, undefined],
    ['warning is published at once', 'passing', record('passing', 'up'), {status: 'warning', output: 'slow'}, {successBeforePassing: 5, failuresBeforeCritical: 5}, 'warning', true, 'slow'],
  ])('%s', (_, published, previous, result, thresholds, status, changed, output) => {
    const decision = decideProbe(initialState(published), previous, result, thresholds, 'n1', now)
    expect(decision.state.status).toBe(status)
    expect(decision.statusChanged).toBe(changed)
    expect(decision.publish?.output).toBe(output)
    if (decision.publish) expect(decision.publish.since).toBe(changed || !previous ? now.toISOString() : previous.since)
  })
})

describe('deregistering an instance critical for too long', () => {
  it.each<[number | undefined, HealthRecord | undefined, boolean]>([
    [undefined, record('critical'), false],
    [60_000, undefined, false],
    [60_000, record('passing'), false],
    [60_000, record('critical', 'x', '2025-01-01T00:00:30Z'), false],
    [60_000, record('critical', 'x', '2025-01-01T00:00:00Z'), true],
  ])('after %p ms with %j: %p', (after, rec, due) => {
    expect(deregisterDue(after, rec, now.getTime())).toBe(due)
  })

  it.each<[string, number | undefined, HealthRecord | undefined, number | undefined, boolean]>([
    ['passing resets', 5, record('passing'), undefined, false],
    ['no record counts from now', undefined, undefined, now.getTime(), false],
    ['no record, seen critical long ago', now.getTime() - 60_000, undefined, now.getTime() - 60_000, true],
    ['critical record counts from its since', undefined, record('critical', 'x', '2025-01-01T00:00:00Z'), Date.parse('2025-01-01T00:00:00Z'), true],
    ['critical record with a bad since counts from now', undefined, record('critical', 'x', 'never'), now.getTime(), false],
  ])('TTL deadline: %s', (_, since, rec, expectedSince, deregister) => {
    expect(ttlDeadlineStep(since, rec, 60_000, now.getTime())).toEqual({criticalSince: expectedSince, deregister})
  })

  it.each([[1000, 1000], [8000, 2000], [600_000, 10_000]])('a %p ms deadline is read every %p ms', (after, every) => {
    expect(ttlDeadlineIntervalMs(after)).toBe(every)
  })
})
