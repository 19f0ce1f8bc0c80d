import {InvalidValueError} from '../lib/errors.js'
import {type CheckPlanOptions, type CheckRequest, planCheck} from './check-plan.js'
import type {HealthRecord, HealthStatus, ServiceRegistration} from './model.js'
import {parseMeta, requireDnsLabel, requireIntegerIn, requireIp, requirePort, requireStatus, requireTags} from './validate.js'

/** One instance as given (flags or a definition file): every field still a string or a number to check. */
export interface RegisterRequest {
  name: string
  id?: string
  namespace: string
  address: string
  port: number | string
  portName?: string
  protocol: string
  tags: string[]
  /** KEY=VALUE entries (flags) or a map (a definition file). */
  meta: string[] | Record<string, string>
  weight: number
  node: string
  initialStatus?: string
  check: CheckRequest
}

export interface RegistrationPlan {
  registration: ServiceRegistration
  /** Written only when the instance has no health record yet (`--initial-status`). */
  initialHealth?: HealthRecord
}

/**
 * Validates everything and builds the records to write, or throws an InvalidValueError
 * naming the first bad field. Pure: the caller writes the result, so bad input writes nothing.
 */
export function planRegistration(request: RegisterRequest, now: Date, options: CheckPlanOptions = {}): RegistrationPlan {
  const name = requireDnsLabel('name', request.name)
  const id = requireDnsLabel('id', request.id ?? name)
  const namespace = requireDnsLabel('namespace', request.namespace)
  if (request.protocol !== 'tcp' && request.protocol !== 'udp') throw new InvalidValueError('protocol', `"${request.protocol}" is not a protocol`, 'use tcp or udp')
  const check = planCheck(request.check, options)
  let initialStatus: HealthStatus | undefined
  if (request.initialStatus !== undefined) {
    initialStatus = requireStatus('initialStatus', request.initialStatus)
    if (!check) throw new InvalidValueError('initialStatus', 'only with a check', 'an instance without a check is always passing')
  }
  const registration: ServiceRegistration = {
    id,
    name,
    namespace,
    address: requireIp('address', request.address),
    port: requirePort('port', request.port),
    ...(request.portName === undefined ? {} : {portName: requireDnsLabel('portName', request.portName)}),
    protocol: request.protocol,
    tags: requireTags('tags', request.tags),
    meta: Array.isArray(request.meta) ? parseMeta('meta', request.meta) : parseMeta('meta', Object.entries(request.meta).map(([k, v]) => `${k}=${v}`)),
    weight: requireIntegerIn('weight', request.weight, 1, 65_535),
    node: requireNodeName(request.node),
    ...(check ? {check} : {}),
    registeredAt: now.toISOString(),
  }
  if (!initialStatus) return {registration}
  const at = now.toISOString()
  return {registration, initialHealth: {status: initialStatus, output: `initial status set by cnet svc register`, since: at, checkedAt: at, prober: 'register'}}
}

/** Node names come from host names, which may hold dots and capitals. */
export function requireNodeName(node: string, field = 'node'): string {
  if (!/^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/.test(node)) throw new InvalidValueError(field, `"${node}" is not a host name`, 'use letters, digits, ., _ and -')
  return node
}

/** What re-registering changes: the same content (apart from when) is no write at all. */
export function sameRegistration(a: ServiceRegistration, b: ServiceRegistration): boolean {
  return canonical({...a, registeredAt: ''}) === canonical({...b, registeredAt: ''})
}

/** JSON with object keys sorted, so field order (as stored by another writer) does not count. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}
