import {formatDuration} from '../lib/duration.js'
import {runCommand} from '../lib/run-command.js'
import {MAX_OUTPUT_BYTES} from '../svc/output.js'
import {type CheckResult, result, statusOfExit} from './result.js'

/**
 * Runs the command (an argument array, never a shell) through the one runner and reads
 * its exit code: 0 passing, 1 warning, else critical. At the timeout it is killed with
 * SIGKILL, so a check that ignores SIGTERM cannot pile up; output is capped.
 */
export async function execCheck(args: string[], timeoutMs: number, stop?: AbortSignal): Promise<CheckResult> {
  const [command, ...rest] = args
  const run = await runCommand(command!, rest, {timeoutMs, signal: stop, all: true, allowFailure: true, maxOutputBytes: MAX_OUTPUT_BYTES * 4})
  const output = run.all.trim()
  if (run.timedOut) return result('critical', `exec ${command}: killed after timeout of ${formatDuration(timeoutMs)}${output ? ` Output: ${output}` : ''}`)
  if (run.canceled) return result('critical', `exec ${command}: cancelled`)
  if (run.exitCode === undefined) return result('critical', `exec ${command}: ${run.signal ? `killed by ${run.signal}` : (run.startError ?? 'failed to start')}`)
  return result(statusOfExit(run.exitCode), output || `exec ${command}: exit ${run.exitCode}`)
}
