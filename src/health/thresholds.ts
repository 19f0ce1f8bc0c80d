import type {HealthStatus} from '../svc/model.js'

export interface Thresholds {
  /** Consecutive passing probes needed before a non-passing check turns passing (0 and 1: the first). */
  successBeforePassing: number
  /** Consecutive failed probes needed before a non-critical check turns critical (0 and 1: the first). */
  failuresBeforeCritical: number
}

export interface ThresholdState {
  /** The status as published. */
  status: HealthStatus
  successes: number
  failures: number
}

export interface Step {
  state: ThresholdState
  /** Whether this probe's result is now the published status (its output goes with it). */
  accepted: boolean
}

export const initialState = (status: HealthStatus): ThresholdState => ({status, successes: 0, failures: 0})

/**
 * Damps flapping as Consul's thresholds do: a streak of passing probes is needed to
 * turn passing, a streak of failures to turn critical. A warning result is published
 * at once and breaks both streaks. Pure.
 */
export function step(state: ThresholdState, probe: HealthStatus, thresholds: Thresholds): Step {
  if (probe === 'passing') {
    const successes = state.successes + 1
    const status = state.status === 'passing' || successes >= Math.max(1, thresholds.successBeforePassing) ? 'passing' : state.status
    return {state: {status, successes, failures: 0}, accepted: status === 'passing'}
  }
  if (probe === 'critical') {
    const failures = state.failures + 1
    const status = state.status === 'critical' || failures >= Math.max(1, thresholds.failuresBeforeCritical) ? 'critical' : state.status
    return {state: {status, successes: 0, failures}, accepted: status === 'critical'}
  }
  return {state: {status: 'warning', successes: 0, failures: 0}, accepted: true}
}
