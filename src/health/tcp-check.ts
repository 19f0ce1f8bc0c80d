import {connect} from 'node:net'
import {formatDuration} from '../lib/duration.js'
import {type CheckResult, reason, result} from './result.js'

/** Passing when a TCP connection to HOST:PORT opens within the timeout; closed at once. */
export function tcpCheck(address: string, timeoutMs: number, stop?: AbortSignal): Promise<CheckResult> {
  const what = `TCP connect ${address}`
  const match = /^\[(.+)\]:(\d+)$/.exec(address) ?? /^(.+):(\d+)$/.exec(address)
  if (!match) return Promise.resolve(result('critical', `${what}: not HOST:PORT`))
  // An abort that came before the listener would never fire it.
  if (stop?.aborted) return Promise.resolve(result('critical', `${what}: cancelled`))
  return new Promise((resolve) => {
    const socket = connect({host: match[1], port: Number(match[2])})
    let settled = false
    const finish = (r: CheckResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      stop?.removeEventListener('abort', onStop)
      socket.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => finish(result('critical', `${what}: timed out after ${formatDuration(timeoutMs)}`)), timeoutMs)
    const onStop = () => finish(result('critical', `${what}: cancelled`))
    stop?.addEventListener('abort', onStop, {once: true})
    socket.once('connect', () => finish(result('passing', `${what}: success`)))
    socket.once('error', (error) => finish(result('critical', `${what}: ${reason(error)}`)))
  })
}
