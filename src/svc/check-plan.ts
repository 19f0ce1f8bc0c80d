import {requireDuration} from '../lib/duration.js'
import {InvalidValueError} from '../lib/errors.js'
import type {CheckDefinition, CheckTiming} from './model.js'
import {parseHeaders, parseHostPort, requireHttpUrl, requireIntegerIn, requireMethod, splitCommandLine} from './validate.js'

/**
 * A check as given on the command line or in a definition file: strings, not yet
 * checked. Its fields are named `check.<field>` in errors (`check.interval`).
 */
export interface CheckRequest {
  http?: string
  method?: string
  headers?: string[]
  tlsSkipVerify?: boolean
  tcp?: string
  exec?: string
  /** An exec check already split into words (a definition file's `args`). */
  args?: string[]
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
  /** Lowers the one-minute floor of deregisterCriticalAfter (tests only). */
  minDeregisterAfterMs?: number
  /** The timeout when none is given, before it is cut to the interval (default 5 s; Consul's files: 10 s, 30 s for exec). */
  defaultTimeoutMs?: (kind: 'http' | 'tcp' | 'exec') => number
}

const KINDS = ['http', 'tcp', 'exec', 'ttl'] as const
const field = (name: string) => `check.${name}`

/** Turns a check request into a CheckDefinition, or undefined when no check was asked for. */
export function planCheck(request: CheckRequest, options: CheckPlanOptions = {}): CheckDefinition | undefined {
  const kinds = KINDS.filter((k) => (k === 'exec' ? request.exec !== undefined || request.args !== undefined : request[k] !== undefined))
  if (kinds.length > 1) throw new InvalidValueError('check', `${kinds.join(' and ')} are both given`, 'give one check per instance')
  const kind = kinds[0]
  if (!kind) {
    const stray = strayCheckFields(request)
    if (stray.length > 0) throw new InvalidValueError(field(stray[0]), 'given without a check', 'add an http, tcp, exec or ttl check')
    return undefined
  }
  const deregisterCriticalAfterMs =
    request.deregisterCriticalAfter === undefined
      ? undefined
      : requireDuration(field('deregisterCriticalAfter'), request.deregisterCriticalAfter, options.minDeregisterAfterMs ?? MIN_DEREGISTER_AFTER_MS)
  if (kind === 'ttl') {
    const activeOnly = strayCheckFields(request).filter((f) => f !== 'deregisterCriticalAfter')
    if (activeOnly.length > 0) throw new InvalidValueError(field(activeOnly[0]), 'not for a TTL check', 'a TTL check is updated by cnet health pass|warn|fail')
    const ttlMs = requireDuration(field('ttl'), request.ttl!, MIN_INTERVAL_MS, MAX_INTERVAL_MS)
    return {type: 'ttl', ttlMs, ...(deregisterCriticalAfterMs === undefined ? {} : {deregisterCriticalAfterMs})}
  }
  if (kind !== 'http') {
    const httpOnly = httpFields(request)
    if (httpOnly.length > 0) throw new InvalidValueError(field(httpOnly[0]), 'only for an http check')
  }
  const timing = planTiming(request, kind, options, deregisterCriticalAfterMs)
  if (kind === 'http') {
    return {
      type: 'http',
      url: requireHttpUrl(field('http'), request.http!),
      method: requireMethod(field('method'), request.method ?? 'GET'),
      headers: parseHeaders(field('headers'), request.headers ?? []),
      tlsSkipVerify: request.tlsSkipVerify ?? false,
      ...timing,
    }
  }
  if (kind === 'tcp') {
    const {host, port} = parseHostPort(field('tcp'), request.tcp!)
    return {type: 'tcp', address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`, ...timing}
  }
  const args = request.args ?? splitCommandLine(field('exec'), request.exec!)
  if (args.length === 0 || args[0] === '') throw new InvalidValueError(field(request.args ? 'args' : 'exec'), 'no command given', 'e.g. ["/usr/local/bin/check-db", "--quick"]')
  return {type: 'exec', args, ...timing}
}

/** A day: longer timers would not fit setTimeout (24.8 days) and make no sense for a health check. */
const MAX_INTERVAL_MS = 24 * 3600 * 1000

/** Interval at least 1 s; timeout at most the interval (the default is cut down to it). */
export function planTiming(request: CheckRequest, kind: 'http' | 'tcp' | 'exec', options: CheckPlanOptions = {}, deregisterCriticalAfterMs?: number): CheckTiming {
  const interval = request.interval ?? DEFAULT_INTERVAL
  const intervalMs = requireDuration(field('interval'), interval, MIN_INTERVAL_MS, MAX_INTERVAL_MS)
  let timeoutMs = Math.min(options.defaultTimeoutMs?.(kind) ?? DEFAULT_TIMEOUT_MS, intervalMs)
  if (request.timeout !== undefined) {
    timeoutMs = requireDuration(field('timeout'), request.timeout, 1)
    if (timeoutMs > intervalMs) throw new InvalidValueError(field('timeout'), `${request.timeout} is longer than the interval ${interval}`, 'a check must end before its next run starts')
  }
  return {
    intervalMs,
    timeoutMs,
    successBeforePassing: requireIntegerIn(field('successBeforePassing'), request.successBeforePassing ?? 0, 0, 100),
    failuresBeforeCritical: requireIntegerIn(field('failuresBeforeCritical'), request.failuresBeforeCritical ?? 0, 0, 100),
    ...(deregisterCriticalAfterMs === undefined ? {} : {deregisterCriticalAfterMs}),
  }
}

/** Fields given that only make sense with an active check. */
function strayCheckFields(request: CheckRequest): string[] {
  const stray: string[] = []
  if (request.interval !== undefined) stray.push('interval')
  if (request.timeout !== undefined) stray.push('timeout')
  if (request.successBeforePassing !== undefined) stray.push('successBeforePassing')
  if (request.failuresBeforeCritical !== undefined) stray.push('failuresBeforeCritical')
  if (request.deregisterCriticalAfter !== undefined) stray.push('deregisterCriticalAfter')
  return [...stray, ...httpFields(request)]
}

function httpFields(request: CheckRequest): string[] {
  const stray: string[] = []
  if (request.method !== undefined) stray.push('method')
  if ((request.headers?.length ?? 0) > 0) stray.push('headers')
  if (request.tlsSkipVerify) stray.push('tlsSkipVerify')
  return stray
}

