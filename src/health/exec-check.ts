import {execa} from 'execa'
import {formatDuration} from '../lib/duration.js'
import {MAX_OUTPUT_BYTES} from '../svc/output.js'
import {type CheckResult, result, statusOfExit} from './result.js'

/**
 * Runs the command (an argument array, never a shell) and reads its exit code: 0
 * passing, 1 warning, else critical. At the timeout it is killed with SIGKILL, so a
 * check that ignores SIGTERM cannot pile up.
 */
export async function execCheck(args: string[], timeoutMs: number, stop?: AbortSignal): Promise<CheckResult> {
  const [command, ...rest] = args
  const run = await execa(command, rest, {
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    cancelSignal: stop,
    reject: false,
    all: true,
    stdin: 'ignore',
    maxBuffer: MAX_OUTPUT_BYTES * 4,
    stripFinalNewline: true,
  })
  const output = String(run.all ?? '').trim()
  if (run.timedOut) return result('critical', `exec ${command}: killed after timeout of ${formatDuration(timeoutMs)}${output ? ` Output: ${output}` : ''}`)
  if (run.isCanceled) return result('critical', `exec ${command}: cancelled`)
  if (run.exitCode === undefined) {
    const why = run.signal ? `killed by ${run.signal}` : (run.originalMessage ?? run.shortMessage ?? 'failed to start')
    return result('critical', `exec ${command}: ${why}`)
  }
  return result(statusOfExit(run.exitCode), output || `exec ${command}: exit ${run.exitCode}`)
}
