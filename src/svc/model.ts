/**
 * The records services and health keep in etcd, shared by registration, the prober,
 * `svc list`/`resolve` and the DNS server.
 *
 *   /cnet/services/<namespace>/<name>/<id>  ServiceRegistration (JSON)
 *   /cnet/health/<namespace>/<name>/<id>    HealthRecord (JSON), under the prober's lease
 *   /cnet/nodes/<node>/<namespace>/<name>/<id>  a copy of the registration: the per-node index
 */
export type HealthStatus = 'passing' | 'warning' | 'critical'
export const HEALTH_STATUSES: readonly HealthStatus[] = ['passing', 'warning', 'critical']

export type CheckDefinition =
  | ({type: 'http'; url: string; method: string; headers: Record<string, string[]>; tlsSkipVerify: boolean} & CheckTiming)
  | ({type: 'tcp'; address: string} & CheckTiming)
  | ({type: 'exec'; args: string[]} & CheckTiming)
  /** Passing only while `cnet health pass` keeps arriving within the TTL. */
  | {type: 'ttl'; ttlMs: number; deregisterCriticalAfterMs?: number}

export interface CheckTiming {
  intervalMs: number
  timeoutMs: number
  successBeforePassing: number
  failuresBeforeCritical: number
  deregisterCriticalAfterMs?: number
}

export interface ServiceRegistration {
  id: string
  name: string
  namespace: string
  address: string
  port: number
  /** SRV port name (`_<portName>._<protocol>.<name>...`); default the protocol's. */
  portName?: string
  protocol: 'tcp' | 'udp'
  tags: string[]
  meta: Record<string, string>
  weight: number
  /** The host whose prober runs the check. */
  node: string
  check?: CheckDefinition
  registeredAt: string
  /** Set by `cnet svc maint --enable`: the instance counts as critical until disabled. */
  maintenance?: Maintenance
}

export interface Maintenance {
  reason: string
  /** When maintenance was enabled (ISO 8601). */
  since: string
}

export interface HealthRecord {
  status: HealthStatus
  /** Check output, at most 4 KB. */
  output: string
  /** When the status last changed (ISO 8601). */
  since: string
  checkedAt: string
  /** Which prober wrote it (its node name), or "register" for an --initial-status. */
  prober: string
}

/**
 * One health status per instance, the same for everyone who reads it (DNS, svc list,
 * resolve, watch): an instance in maintenance is critical; one without a check is
 * passing; one with a check is what its latest fresh result says, and critical when
 * there is none (never probed, or the prober died and its lease took the result with it).
 */
export function effectiveStatus(registration: {maintenance?: Maintenance | null; check?: unknown}, health: StoredHealth | undefined): HealthStatus {
  if (registration.maintenance) return 'critical'
  if (!registration.check) return 'passing'
  return health?.status ?? 'critical'
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

type Kind = 'string' | 'number' | 'strings' | 'stringMap'
type Optionals = readonly (readonly [field: string, kind: Kind])[]
// As arrays: these are checked for every record of a listing (100,000 at fleet scale).
const REGISTRATION_OPTIONALS: Optionals = [['tags', 'strings'], ['meta', 'stringMap'], ['weight', 'number'], ['protocol', 'string'], ['portName', 'string'], ['node', 'string'], ['registeredAt', 'string']]
const HEALTH_OPTIONALS: Optionals = [['output', 'string'], ['since', 'string'], ['checkedAt', 'string'], ['prober', 'string']]

function isStrings(value: unknown): boolean {
  if (!Array.isArray(value)) return false
  for (const item of value) if (typeof item !== 'string') return false
  return true
}

function isStringMap(value: unknown): boolean {
  if (!isObject(value)) return false
  for (const key in value) if (typeof value[key] !== 'string') return false
  return true
}

/** Whether each field that is present has the type the rest of cnet assumes. */
function optional(value: Record<string, unknown>, kinds: Optionals): boolean {
  for (const [field, kind] of kinds) {
    const v = value[field]
    if (v === undefined) continue
    if (kind === 'strings' ? !isStrings(v) : kind === 'stringMap' ? !isStringMap(v) : typeof v !== kind) return false
  }
  return true
}

/** Parses a registration value; undefined when it is not one (it is then ignored, never fatal). */
export function parseRegistration(text: string): ServiceRegistration | undefined {
  const value = parseStoredRegistration(text)
  if (!value) return undefined
  return {tags: [], meta: {}, weight: 1, protocol: 'tcp', node: '', registeredAt: '', ...value} as ServiceRegistration
}

/** A registration as stored: the fields parseRegistration fills in when missing may be. */
export type StoredRegistration = Omit<ServiceRegistration, OptionalField> & Partial<Pick<ServiceRegistration, OptionalField>>
type OptionalField = 'tags' | 'meta' | 'weight' | 'protocol' | 'node' | 'registeredAt'

/**
 * What parseRegistration checks, without the copy that fills in defaults: for a reader
 * that keeps a few fields of each of a fleet's registrations (dns serve's registry).
 */
export function parseStoredRegistration(text: string): StoredRegistration | undefined {
  try {
    const value = JSON.parse(text) as unknown
    if (!isObject(value)) return undefined
    const {id, name, namespace, address, port, check} = value
    if (typeof id !== 'string' || typeof name !== 'string' || typeof namespace !== 'string' || typeof address !== 'string' || typeof port !== 'number') return undefined
    if (check !== undefined && !isSaneCheck(check)) return undefined
    if (!optional(value, REGISTRATION_OPTIONALS)) return undefined
    if (value.maintenance !== undefined && !isMaintenance(value.maintenance)) return undefined
    return value as unknown as StoredRegistration
  } catch {
    return undefined
  }
}

/**
 * A check someone else wrote into etcd must not be able to stall a prober: its interval,
 * timeout or TTL must be a number of milliseconds a timer can keep (1 s to 24.8 days).
 */
function isSaneCheck(check: unknown): boolean {
  if (!isObject(check)) return false
  const ms = (value: unknown, min: number) => typeof value === 'number' && Number.isFinite(value) && value >= min && value <= MAX_TIMER_MS
  if (check.type === 'ttl') return ms(check.ttlMs, 1000)
  return ms(check.intervalMs, 1000) && ms(check.timeoutMs, 1)
}

function isMaintenance(value: unknown): value is Maintenance {
  return isObject(value) && typeof value.reason === 'string' && typeof value.since === 'string'
}

/** setTimeout's limit: longer delays fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1

export function parseHealth(text: string): HealthRecord | undefined {
  const value = parseStoredHealth(text)
  return value && ({output: '', since: '', checkedAt: '', prober: '', ...value} as HealthRecord)
}

/**
 * The status of a health record value, or undefined when it is not one: parseHealth's
 * checks without its copy. (A listing reads its records in etcd's bytes instead:
 * health-status-bytes.ts.)
 */
export function parseHealthStatus(text: string): HealthStatus | undefined {
  return parseStoredHealth(text)?.status
}

/** A health record as stored: parseHealth's checks, without the copy that fills in the fields it may lack. */
export type StoredHealth = Partial<HealthRecord> & {status: HealthStatus}

export function parseStoredHealth(text: string): StoredHealth | undefined {
  try {
    const value = JSON.parse(text) as unknown
    if (!isObject(value) || !HEALTH_STATUSES.includes(value.status as HealthStatus)) return undefined
    if (!optional(value, HEALTH_OPTIONALS)) return undefined
    return value as StoredHealth
  } catch {
    return undefined
  }
}
