import type {HealthStatus} from '../svc/model.js'
import {truncateOutput} from '../svc/output.js'

/** What one probe found. */
export interface CheckResult {
  status: HealthStatus
  /** At most 4 KB; stable between probes of an unchanged target, so it only changes when something did. */
  output: string
}

export const result = (status: HealthStatus, output: string): CheckResult => ({status, output: truncateOutput(output)})

/** Consul's reading of an HTTP status: 2xx passing, 429 warning, anything else critical. */
export function statusOfHttp(code: number): HealthStatus {
  if (code >= 200 && code < 300) return 'passing'
  if (code === 429) return 'warning'
  return 'critical'
}

/** Consul's (and Nagios') reading of an exit code: 0 passing, 1 warning, else critical. */
export function statusOfExit(code: number | undefined): HealthStatus {
  if (code === 0) return 'passing'
  if (code === 1) return 'warning'
  return 'critical'
}

/** "connect ECONNREFUSED 127.0.0.1:80" rather than a stack. */
export function reason(error: unknown): string {
  const e = error as {message?: string; code?: string}
  return e?.message || e?.code || String(error)
}
