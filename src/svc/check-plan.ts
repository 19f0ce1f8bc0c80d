import {requireDurationMs} from '../lib/duration.js'
import {UsageError} from '../lib/errors.js'
import type {CheckDefinition, CheckTiming} from './model.js'
import {parseHeaders, parseHostPort, requireHttpUrl, requireIntegerIn, requireMethod, splitCommandLine} from './validate.js'

/** A check as typed on the command line: strings, not yet checked. */
export interface CheckRequest {
  http?: string
  method?: string
  headers?: string[]
  tlsSkipVerify?: boolean
  tcp?: string
  exec?: string
  ttl?: string
  interval?: string
  timeout?: string
  successBeforePassing?: number
  failuresBeforeCritical?: number
  deregisterCriticalAfter?: string
}

export const DEFAULT_INTERVAL = '10s'
export const DEFAULT_TIMEOUT_MS = 5000
export const MIN_INTERVAL_MS = 1000
/** Consul's floor for deregister_critical_service_after. */
export const MIN_DEREGISTER_AFTER_MS = 60_000

export interface CheckPlanOptions {
  /** Lowers the one-minute floor of --deregister-critical-after (tests only). */
  minDeregisterAfterMs?: number
  /** Flag names as the command spells them, for messages. */
  flagPrefix?: string
}

/** Turns the check flags into a CheckDefinition, or undefined when no check was asked for. */
export function planCheck(request: CheckRequest, options: CheckPlanOptions = {}): CheckDefinition | undefined {
  const p = options.flagPrefix ?? '--check-'
  const kinds = (['http', 'tcp', 'exec', 'ttl'] as const).filter((k) => request[k] !== undefined)
  if (kinds.length > 1) throw new UsageError(`${kinds.map((k) => p + k).join(', ')}: give one check per instance`)
  const kind = kinds[0]
  if (!kind) {
    const stray = strayCheckFlags(request, p)
    if (stray.length > 0) throw new UsageError(`${stray.join(', ')}: only with a check`, `add ${p}http, ${p}tcp, ${p}exec or ${p}ttl`)
    return undefined
  }
  const deregisterCriticalAfterMs =
    request.deregisterCriticalAfter === undefined
      ? undefined
      : requireDurationMs('--deregister-critical-after', request.deregisterCriticalAfter, options.minDeregisterAfterMs ?? MIN_DEREGISTER_AFTER_MS)
  if (kind === 'ttl') {
    const activeOnly = strayCheckFlags(request, p).filter((f) => f !== '--deregister-critical-after')
    if (activeOnly.length > 0) throw new UsageError(`${activeOnly.join(', ')}: not for a TTL check`, 'a TTL check is updated by cnet health pass|warn|fail')
    const ttlMs = requireDurationMs(`${p}ttl`, request.ttl!, MIN_INTERVAL_MS, MAX_INTERVAL_MS)
    return {type: 'ttl', ttlMs, ...(deregisterCriticalAfterMs === undefined ? {} : {deregisterCriticalAfterMs})}
  }
  if (kind !== 'http') {
    const httpOnly = httpFlags(request, p)
    if (httpOnly.length > 0) throw new UsageError(`${httpOnly.join(', ')}: only with ${p}http`)
  }
  const timing = planTiming(request, deregisterCriticalAfterMs)
  if (kind === 'http') {
    return {
      type: 'http',
      url: requireHttpUrl(`${p}http`, request.http!),
      method: requireMethod(`${p}method`, request.method ?? 'GET'),
      headers: parseHeaders(`${p}header`, request.headers ?? []),
      tlsSkipVerify: request.tlsSkipVerify ?? false,
      ...timing,
    }
  }
  if (kind === 'tcp') {
    const {host, port} = parseHostPort(`${p}tcp`, request.tcp!)
    return {type: 'tcp', address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`, ...timing}
  }
  return {type: 'exec', args: splitCommandLine(`${p}exec`, request.exec!), ...timing}
}

/** A day: longer timers would not fit setTimeout (24.8 days) and make no sense for a health check. */
const MAX_INTERVAL_MS = 24 * 3600 * 1000

/** Interval at least 1 s; timeout at most the interval (the default 5 s is cut down to it). */
export function planTiming(request: CheckRequest, deregisterCriticalAfterMs?: number): CheckTiming {
  const intervalMs = requireDurationMs('--interval', request.interval ?? DEFAULT_INTERVAL, MIN_INTERVAL_MS, MAX_INTERVAL_MS)
  let timeoutMs = Math.min(DEFAULT_TIMEOUT_MS, intervalMs)
  if (request.timeout !== undefined) {
    timeoutMs = requireDurationMs('--timeout', request.timeout, 1)
    if (timeoutMs > intervalMs) throw new UsageError(`--timeout: ${request.timeout} is longer than --interval ${request.interval ?? DEFAULT_INTERVAL}`, 'a check must end before its next run starts')
  }
  return {
    intervalMs,
    timeoutMs,
    successBeforePassing: requireIntegerIn('--success-before-passing', request.successBeforePassing ?? 0, 0, 100),
    failuresBeforeCritical: requireIntegerIn('--failures-before-critical', request.failuresBeforeCritical ?? 0, 0, 100),
    ...(deregisterCriticalAfterMs === undefined ? {} : {deregisterCriticalAfterMs}),
  }
}

function strayCheckFlags(request: CheckRequest, p: string): string[] {
  const stray: string[] = []
  if (request.interval !== undefined) stray.push('--interval')
  if (request.timeout !== undefined) stray.push('--timeout')
  if (request.successBeforePassing !== undefined) stray.push('--success-before-passing')
  if (request.failuresBeforeCritical !== undefined) stray.push('--failures-before-critical')
  if (request.deregisterCriticalAfter !== undefined) stray.push('--deregister-critical-after')
  return [...stray, ...httpFlags(request, p)]
}

function httpFlags(request: CheckRequest, p: string): string[] {
  const stray: string[] = []
  if (request.method !== undefined) stray.push(`${p}method`)
  if ((request.headers?.length ?? 0) > 0) stray.push(`${p}header`)
  if (request.tlsSkipVerify) stray.push(`${p}tls-skip-verify`)
  return stray
}
