import type {ActiveCheck} from './decisions.js'
import {execCheck} from './exec-check.js'
import {httpCheck} from './http-check.js'
import {type CheckResult, result} from './result.js'
import {tcpCheck} from './tcp-check.js'

export type {ActiveCheck}

export interface RunCheckOptions {
  /** Exec checks run only when the operator allowed them on this host. */
  enableExec: boolean
  stop?: AbortSignal
}

export const EXEC_DISABLED = 'exec checks are disabled on this prober (start cnet health run with --enable-exec-checks to allow them)'

/** One probe of an active check, never throwing: every failure is a critical result. */
export async function runCheck(check: ActiveCheck, options: RunCheckOptions): Promise<CheckResult> {
  try {
    switch (check.type) {
      case 'http':
        return await httpCheck(check, options.stop)
      case 'tcp':
        return await tcpCheck(check.address, check.timeoutMs, options.stop)
      case 'exec':
        if (!options.enableExec) return result('critical', EXEC_DISABLED)
        return await execCheck(check.args, check.timeoutMs, options.stop)
    }
  } catch (error) {
    return result('critical', `${check.type} check failed: ${(error as Error).message}`)
  }
}
