import {InvalidValueError} from '../lib/errors.js'
import type {CheckPlanOptions, CheckRequest} from './check-plan.js'
import {type RegisterRequest, type RegistrationPlan, planRegistration} from './registration-plan.js'

/**
 * Service definition files for `svc register --file` and `svc deregister --file`: Consul's
 * service definition JSON (`{"service": {...}}` or `{"services": [...]}`) and cnet's own
 * shape (`{"instances": [...]}`, the fields `svc register` takes, camelCase). Every
 * instance is validated before any is written; an error names the field by its path in
 * the file (`services[2].check.interval`).
 */
export interface DefinitionDefaults {
  /** Used when an instance names none (`svc register --namespace`). */
  namespace: string
  /** The node whose prober runs the checks (`svc register --node`); neither format names one per instance. */
  node: string
}

export interface Definition {
  /** Where it is in the file: `service`, `services[2]`, `instances[0]`. */
  path: string
  request: RegisterRequest
  /** A library field ("check.interval") as the file spells it ("services[2].check.interval"). */
  fieldPath(field: string): string
}

export type DefinitionFormat = 'consul' | 'cnet'

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Consul matches keys without regard to case or underscores (`TLSSkipVerify`, `tls_skip_verify`). */
const normal = (key: string) => key.toLowerCase().replace(/_/g, '')

/** Parses the text of a definition file (JSON) into one request per instance, without validating their values yet. */
export function parseDefinitions(text: string, defaults: DefinitionDefaults): {format: DefinitionFormat; definitions: Definition[]} {
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw new InvalidValueError('file', `not JSON: ${(error as Error).message}`)
  }
  if (!isObject(document)) throw new InvalidValueError('file', 'must hold a JSON object', FORMATS)
  const keys = Object.keys(document)
  const consul = keys.filter((k) => normal(k) === 'service' || normal(k) === 'services')
  if (keys.includes('instances')) {
    if (keys.length > 1) throw new InvalidValueError(keys.find((k) => k !== 'instances')!, 'unknown field beside "instances"', FORMATS)
    return {format: 'cnet', definitions: list(document.instances, 'instances').map(([value, path]) => cnetDefinition(value, path, defaults))}
  }
  if (consul.length === 1 && keys.length === 1) {
    const key = consul[0]!
    const entries: [unknown, string][] = normal(key) === 'service' ? [[document[key], 'service']] : list(document[key], 'services')
    return {format: 'consul', definitions: entries.map(([value, path]) => consulDefinition(value, path, defaults))}
  }
  throw new InvalidValueError('file', `holds ${keys.map((k) => JSON.stringify(k)).join(', ') || 'nothing'}`, FORMATS)
}

const FORMATS = 'expected Consul\'s {"service": {...}} or {"services": [...]}, or cnet\'s {"instances": [...]}'

function list(value: unknown, path: string): [unknown, string][] {
  if (!Array.isArray(value)) throw new InvalidValueError(path, 'must be a list')
  if (value.length === 0) throw new InvalidValueError(path, 'defines no instance')
  return value.map((v, i) => [v, `${path}[${i}]`])
}

/**
 * Validates every definition (planRegistration) and refuses an id defined twice; throws the
 * first error with its field named by its path in the file. Pure: nothing is written.
 */
export function planDefinitions(definitions: readonly Definition[], now: Date, options: CheckPlanOptions = {}): RegistrationPlan[] {
  const seen = new Map<string, string>()
  return definitions.map((definition) => {
    let plan: RegistrationPlan
    try {
      plan = planRegistration(definition.request, now, {...options, ...consulTimeouts(definition)})
    } catch (error) {
      if (error instanceof InvalidValueError) throw error.renamed(definition.fieldPath(error.field))
      throw error
    }
    const {namespace, id} = plan.registration
    const other = seen.get(`${namespace}/${id}`)
    if (other) throw new InvalidValueError(definition.fieldPath('id'), `"${id}" is defined twice in namespace ${namespace} (also ${other})`)
    seen.set(`${namespace}/${id}`, definition.path)
    return plan
  })
}

/** Consul's default check timeout: 10 s, 30 s for a script (args) check; cut to the interval as cnet's own. */
function consulTimeouts(definition: Definition): CheckPlanOptions {
  return definition.path.startsWith('instances') ? {} : {defaultTimeoutMs: (kind) => (kind === 'exec' ? 30_000 : 10_000)}
}

// ---------------------------------------------------------------- cnet's own shape

const CNET_FIELDS = new Set(['name', 'id', 'namespace', 'address', 'port', 'portName', 'protocol', 'tags', 'meta', 'weight', 'node', 'initialStatus', 'check'])
const CNET_CHECK_FIELDS = new Set(['http', 'method', 'headers', 'tlsSkipVerify', 'tcp', 'exec', 'args', 'ttl', 'interval', 'timeout', 'successBeforePassing', 'failuresBeforeCritical', 'deregisterCriticalAfter'])

function cnetDefinition(value: unknown, path: string, defaults: DefinitionDefaults): Definition {
  const fieldPath = (field: string) => `${path}.${field}`
  const read = reader(fieldPath)
  const v = read.object(value, '')
  for (const key of Object.keys(v)) if (!CNET_FIELDS.has(key)) throw new InvalidValueError(fieldPath(key), 'unknown field')
  const c = v.check === undefined ? {} : read.object(v.check, 'check')
  for (const key of Object.keys(c)) if (!CNET_CHECK_FIELDS.has(key)) throw new InvalidValueError(fieldPath(`check.${key}`), 'unknown field')
  const check: CheckRequest = {
    http: read.string(c.http, 'check.http'),
    method: read.string(c.method, 'check.method'),
    headers: headerEntries(read, c.headers, 'check.headers'),
    tlsSkipVerify: read.boolean(c.tlsSkipVerify, 'check.tlsSkipVerify'),
    tcp: read.string(c.tcp, 'check.tcp'),
    exec: read.string(c.exec, 'check.exec'),
    args: read.strings(c.args, 'check.args'),
    ttl: read.string(c.ttl, 'check.ttl'),
    interval: read.string(c.interval, 'check.interval'),
    timeout: read.string(c.timeout, 'check.timeout'),
    successBeforePassing: read.number(c.successBeforePassing, 'check.successBeforePassing'),
    failuresBeforeCritical: read.number(c.failuresBeforeCritical, 'check.failuresBeforeCritical'),
    deregisterCriticalAfter: read.string(c.deregisterCriticalAfter, 'check.deregisterCriticalAfter'),
  }
  if (check.exec !== undefined && check.args !== undefined) throw new InvalidValueError(fieldPath('check.args'), 'give exec or args, not both')
  const request: RegisterRequest = {
    name: read.required(read.string(v.name, 'name'), 'name'),
    id: read.string(v.id, 'id'),
    namespace: read.string(v.namespace, 'namespace') ?? defaults.namespace,
    address: read.required(read.string(v.address, 'address'), 'address'),
    port: read.required(read.number(v.port, 'port'), 'port'),
    portName: read.string(v.portName, 'portName'),
    protocol: read.string(v.protocol, 'protocol') ?? 'tcp',
    tags: read.strings(v.tags, 'tags') ?? [],
    meta: read.stringMap(v.meta, 'meta') ?? {},
    weight: read.number(v.weight, 'weight') ?? 1,
    node: read.string(v.node, 'node') ?? defaults.node,
    initialStatus: read.string(v.initialStatus, 'initialStatus'),
    check: dropUndefined(check),
  }
  // The namespace and node given on the command line are named by their flags, not by the file.
  const fromDefaults = new Set([v.namespace === undefined ? 'namespace' : '', v.node === undefined ? 'node' : ''])
  return {path, request, fieldPath: (field) => (fromDefaults.has(field) ? field : fieldPath(field === 'check.exec' && check.args ? 'check.args' : field))}
}

// ---------------------------------------------------------------- Consul's shape

/** Consul's service fields cnet reads, by normalised key. */
const CONSUL_SERVICE = new Map([
  ['name', 'name'], ['id', 'id'], ['address', 'address'], ['port', 'port'], ['tags', 'tags'], ['meta', 'meta'],
  ['weights', 'weights'], ['check', 'check'], ['checks', 'checks'], ['namespace', 'namespace'],
])
/** Fields Consul has that change nothing in cnet: accepted and ignored. */
const CONSUL_IGNORED = new Set(['enabletagoverride', 'token'])
/** Consul's check fields cnet reads, by normalised key, with their spelling in messages. */
const CONSUL_CHECK = new Map([
  ['http', 'http'], ['header', 'header'], ['method', 'method'], ['tlsskipverify', 'tls_skip_verify'], ['tcp', 'tcp'],
  ['args', 'args'], ['scriptargs', 'args'], ['ttl', 'ttl'], ['interval', 'interval'], ['timeout', 'timeout'],
  ['successbeforepassing', 'success_before_passing'], ['failuresbeforecritical', 'failures_before_critical'],
  ['deregistercriticalserviceafter', 'deregister_critical_service_after'], ['status', 'status'],
])
const CONSUL_CHECK_IGNORED = new Set(['id', 'checkid', 'name', 'notes', 'serviceid', 'token'])

/** Library fields (planRegistration's) as Consul's definition spells them. */
const CONSUL_FIELD: Record<string, string> = {
  weight: 'weights.passing',
  initialStatus: 'check.status',
  'check.headers': 'check.header',
  'check.tlsSkipVerify': 'check.tls_skip_verify',
  'check.exec': 'check.args',
  'check.successBeforePassing': 'check.success_before_passing',
  'check.failuresBeforeCritical': 'check.failures_before_critical',
  'check.deregisterCriticalAfter': 'check.deregister_critical_service_after',
}

function consulDefinition(value: unknown, path: string, defaults: DefinitionDefaults): Definition {
  let checkPath = 'check'
  const fieldPath = (field: string) => `${path}.${(CONSUL_FIELD[field] ?? field).replace(/^check\b/, checkPath)}`
  const read = reader((field) => `${path}.${field}`)
  const raw = read.object(value, '')
  const v: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(raw)) {
    const known = CONSUL_SERVICE.get(normal(key))
    if (known) v[known] = item
    else if (!CONSUL_IGNORED.has(normal(key))) throw new InvalidValueError(`${path}.${key}`, CONSUL_UNSUPPORTED_SERVICE.has(normal(key)) ? 'is not supported by cnet' : 'unknown field')
  }
  const checks: [unknown, string][] = []
  if (v.check !== undefined) checks.push([v.check, 'check'])
  if (v.checks !== undefined) {
    if (!Array.isArray(v.checks)) throw new InvalidValueError(`${path}.checks`, 'must be a list')
    v.checks.forEach((c, i) => checks.push([c, `checks[${i}]`]))
  }
  if (checks.length > 1) {
    throw new InvalidValueError(`${path}.${v.check !== undefined && v.checks !== undefined ? 'check' : 'checks'}`, `${checks.length} checks given: cnet runs one check per instance`, 'combine them into one args check, or register one instance per check')
  }
  const c: Record<string, unknown> = {}
  if (checks[0]) {
    checkPath = checks[0][1]
    for (const [key, item] of Object.entries(read.object(checks[0][0], checkPath))) {
      const known = CONSUL_CHECK.get(normal(key))
      if (known) c[known] = item
      else if (!CONSUL_CHECK_IGNORED.has(normal(key))) throw new InvalidValueError(`${path}.${checkPath}.${key}`, CONSUL_UNSUPPORTED_CHECK.has(normal(key)) ? 'is not supported by cnet' : 'unknown field', 'cnet runs http, tcp, args and ttl checks')
    }
  }
  const at = (field: string) => `${checkPath}.${field}`
  const header = c.header === undefined ? undefined : read.object(c.header, at('header'))
  const check: CheckRequest = {
    http: read.string(c.http, at('http')),
    method: read.string(c.method, at('method')),
    headers: header && Object.entries(header).flatMap(([name, values]) => read.strings(values, `${at('header')}.${name}`)!.map((value) => `${name}: ${value}`)),
    tlsSkipVerify: read.boolean(c.tls_skip_verify, at('tls_skip_verify')),
    tcp: read.string(c.tcp, at('tcp')),
    args: read.strings(c.args, at('args')),
    ttl: read.string(c.ttl, at('ttl')),
    interval: read.string(c.interval, at('interval')),
    timeout: read.string(c.timeout, at('timeout')),
    successBeforePassing: read.number(c.success_before_passing, at('success_before_passing')),
    failuresBeforeCritical: read.number(c.failures_before_critical, at('failures_before_critical')),
    deregisterCriticalAfter: read.string(c.deregister_critical_service_after, at('deregister_critical_service_after')),
  }
  // Consul refuses an active check without an interval; so does cnet for Consul's files.
  if ((check.http ?? check.tcp ?? check.args) !== undefined && check.interval === undefined) throw new InvalidValueError(`${path}.${at('interval')}`, 'required for an http, tcp or args check', 'e.g. "10s"')
  const weights = v.weights === undefined ? undefined : read.object(v.weights, 'weights')
  for (const key of Object.keys(weights ?? {})) if (normal(key) !== 'passing' && normal(key) !== 'warning') throw new InvalidValueError(`${path}.weights.${key}`, 'unknown field')
  const passing = weights && Object.entries(weights).find(([k]) => normal(k) === 'passing')?.[1]
  const warning = weights && Object.entries(weights).find(([k]) => normal(k) === 'warning')?.[1]
  if (warning !== undefined) read.number(warning, 'weights.warning')
  const name = read.required(read.string(v.name, 'name'), 'name')
  const request: RegisterRequest = {
    name,
    id: read.string(v.id, 'id'),
    namespace: read.string(v.namespace, 'namespace') ?? defaults.namespace,
    address: read.required(read.string(v.address, 'address'), 'address', 'cnet has no agent address to default to'),
    port: read.required(read.number(v.port, 'port'), 'port'),
    protocol: 'tcp',
    tags: read.strings(v.tags, 'tags') ?? [],
    meta: read.stringMap(v.meta, 'meta') ?? {},
    weight: read.number(passing, 'weights.passing') ?? 1,
    node: defaults.node,
    initialStatus: read.string(c.status, at('status')),
    check: dropUndefined(check),
  }
  const fromDefaults = new Set(['node', v.namespace === undefined ? 'namespace' : ''])
  return {path, request, fieldPath: (field) => (fromDefaults.has(field) ? field : fieldPath(field))}
}

const CONSUL_UNSUPPORTED_SERVICE = new Set(['kind', 'taggedaddresses', 'socketpath', 'proxy', 'connect', 'ports', 'locality', 'partition'])
const CONSUL_UNSUPPORTED_CHECK = new Set([
  'body', 'grpc', 'grpcusetls', 'dockercontainerid', 'shell', 'aliasnode', 'aliasservice', 'h2ping', 'h2pingusetls', 'udp', 'osservice',
  'tlsservername', 'tcpusetls', 'disableredirects', 'outputmaxsize', 'failuresbeforewarning', 'type',
])

// ---------------------------------------------------------------- typed reads naming the field

function reader(fieldPath: (field: string) => string) {
  const fail = (field: string, problem: string, hint?: string): never => {
    throw new InvalidValueError(field === '' ? fieldPath('').replace(/\.$/, '') : fieldPath(field), problem, hint)
  }
  return {
    object(value: unknown, field: string): Record<string, unknown> {
      return isObject(value) ? value : fail(field, 'must be an object')
    },
    string(value: unknown, field: string): string | undefined {
      return value === undefined || typeof value === 'string' ? value : fail(field, 'must be a string')
    },
    number(value: unknown, field: string): number | undefined {
      return value === undefined || typeof value === 'number' ? value : fail(field, 'must be a number')
    },
    boolean(value: unknown, field: string): boolean | undefined {
      return value === undefined || typeof value === 'boolean' ? value : fail(field, 'must be true or false')
    },
    strings(value: unknown, field: string): string[] | undefined {
      return value === undefined || (Array.isArray(value) && value.every((v) => typeof v === 'string')) ? (value as string[] | undefined) : fail(field, 'must be a list of strings')
    },
    stringMap(value: unknown, field: string): Record<string, string> | undefined {
      return value === undefined || (isObject(value) && Object.values(value).every((v) => typeof v === 'string')) ? (value as Record<string, string> | undefined) : fail(field, 'must be an object of strings')
    },
    required<T>(value: T | undefined, field: string, hint?: string): T {
      return value === undefined ? fail(field, 'is required', hint) : value
    },
  }
}

function headerEntries(read: ReturnType<typeof reader>, value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined
  return Object.entries(read.object(value, field)).flatMap(([name, v]) => (typeof v === 'string' ? [`${name}: ${v}`] : read.strings(v, `${field}.${name}`)!.map((x) => `${name}: ${x}`)))
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
