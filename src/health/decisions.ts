import type {CheckDefinition, HealthRecord, ServiceRegistration} from '../svc/model.js'
import type {CheckResult} from './result.js'
import {type ThresholdState, type Thresholds, step} from './thresholds.js'

/**
 * The prober's decisions as pure functions of what it knows and the time: which
 * instances to follow, what a probe result publishes, when an instance critical for too
 * long is deregistered. The Prober class only feeds them and carries out their answers.
 */

export type ActiveCheck = Exclude<CheckDefinition, {type: 'ttl'}>

/** What to do with an instance when its index entry is put (or listed). */
export type Follow =
  | {kind: 'probe'; check: ActiveCheck}
  /** A TTL check with deregisterCriticalAfter: nothing to probe, a deadline to keep. */
  | {kind: 'ttl-deadline'; afterMs: number}
  /** Nothing to do on this node: not ours (any more), no check, or a TTL check without a deadline. */
  | {kind: 'none'; why: string}

export function follow(node: string, registration: ServiceRegistration): Follow {
  const check = registration.check
  if (registration.node !== node) return {kind: 'none', why: 'moved to another node'}
  if (!check) return {kind: 'none', why: 'no active check'}
  if (check.type !== 'ttl') return {kind: 'probe', check}
  return check.deregisterCriticalAfterMs === undefined ? {kind: 'none', why: 'no active check'} : {kind: 'ttl-deadline', afterMs: check.deregisterCriticalAfterMs}
}

export interface ProbeDecision {
  state: ThresholdState
  /** The record to publish now; undefined when nothing changed (no write). */
  publish: HealthRecord | undefined
  statusChanged: boolean
}

/**
 * One probe result against the thresholds: the published status moves only past a
 * streak, and a record is written only when the status or its output changes (below a
 * threshold the published output stays with its status).
 */
export function decideProbe(state: ThresholdState, previous: HealthRecord | undefined, result: CheckResult, thresholds: Thresholds, node: string, now: Date): ProbeDecision {
  const {state: next, accepted} = step(state, result.status, thresholds)
  const statusChanged = previous?.status !== next.status
  const output = accepted || !previous ? result.output : previous.output
  if (!statusChanged && output === previous?.output) return {state: next, publish: undefined, statusChanged}
  const at = now.toISOString()
  const since = statusChanged || !previous?.since ? at : previous.since
  return {state: next, publish: {status: next.status, output, since, checkedAt: at, prober: node}, statusChanged}
}

/** deregisterCriticalAfter: whether a record says the instance has been critical that long. */
export function deregisterDue(afterMs: number | undefined, record: HealthRecord | undefined, nowMs: number): boolean {
  if (afterMs === undefined || record?.status !== 'critical') return false
  return nowMs - Date.parse(record.since) >= afterMs
}

export interface TtlDeadlineStep {
  /** When the instance was first seen critical (undefined: it is not). */
  criticalSince: number | undefined
  deregister: boolean
}

/**
 * A TTL check's deadline, read now and then: no record (its TTL ran out) counts as
 * critical, as Consul counts an expired TTL check; critical since the record's own
 * `since`, else since first seen so.
 */
export function ttlDeadlineStep(criticalSince: number | undefined, record: HealthRecord | undefined, afterMs: number, nowMs: number): TtlDeadlineStep {
  if (record && record.status !== 'critical') return {criticalSince: undefined, deregister: false}
  const recordSince = record ? Date.parse(record.since) : Number.NaN
  const since = criticalSince ?? (Number.isFinite(recordSince) ? recordSince : nowMs)
  return {criticalSince: since, deregister: nowMs - since >= afterMs}
}

/** How often a TTL deadline is read: a quarter of it, from 1 s to 10 s. */
export function ttlDeadlineIntervalMs(afterMs: number): number {
  return Math.min(Math.max(afterMs / 4, 1000), 10_000)
}
