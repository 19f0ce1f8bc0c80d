import {isIP} from 'node:net'
import {requireDuration} from '../lib/duration.js'
import {ConfigError, InvalidValueError} from '../lib/errors.js'
import {type HostPort, formatHostPort, parseHostPort} from '../lib/listen-address.js'
import {type Cidr, formatIp, parseCidr, parseIp} from '../net/ip.js'
import {upstreamsFromResolvConf} from './resolv-conf.js'

/**
 * `dns serve`'s settings as given: on the command line, in a config file (its keys are
 * the long flag names), or both. Values are as typed (strings, lists, numbers, booleans);
 * resolveServeOptions checks them and fills in the defaults. Field names here are the
 * names errors carry (InvalidValueError.field), so the command maps them to its flags.
 */
export interface ServeSettings {
  listen?: string[]
  zone?: string
  upstream?: string[]
  ttl?: string
  'negative-ttl'?: string
  'only-passing'?: boolean
  'allow-recursion'?: string[]
  'max-concurrent'?: number
  health?: string
  ready?: string
  metrics?: string
  workers?: number
  'log-queries'?: boolean
  /** Stub domains: a domain -> its own upstreams (file only). */
  forward?: Record<string, string[]>
  /** Static names -> their addresses, answered authoritatively (file only). */
  hosts?: Record<string, string[]>
}

type Kind = 'string' | 'strings' | 'boolean' | 'integer' | 'map'
const KINDS: Record<keyof ServeSettings, Kind> = {
  listen: 'strings',
  zone: 'string',
  upstream: 'strings',
  ttl: 'string',
  'negative-ttl': 'string',
  'only-passing': 'boolean',
  'allow-recursion': 'strings',
  'max-concurrent': 'integer',
  health: 'string',
  ready: 'string',
  metrics: 'string',
  workers: 'integer',
  'log-queries': 'boolean',
  forward: 'map',
  hosts: 'map',
}
export const SETTING_NAMES = Object.keys(KINDS) as (keyof ServeSettings)[]

export interface StubDomain {
  /** Lower-cased, without the trailing dot. */
  domain: string
  upstreams: HostPort[]
}

export interface HostEntry {
  /** Lower-cased, without the trailing dot. */
  name: string
  /** Canonical text of each address. */
  addresses: string[]
}

export interface ServeOptions {
  listen: HostPort[]
  zone: string
  /** Where names outside the zone, the hosts and the stub domains go. */
  upstreams: HostPort[]
  /** Longest domain first, so the first match is the longest suffix. */
  forward: StubDomain[]
  hosts: HostEntry[]
  ttlSeconds: number
  negativeTtlSeconds: number
  onlyPassing: boolean
  allowRecursion: Cidr[]
  maxConcurrent: number
  forwardTimeoutMs: number
  http: {health?: HostPort; ready?: HostPort; metrics?: HostPort}
  logQueries: boolean
  /** Processes answering queries (node:cluster); 1 answers in this process. */
  workers: number
}

/** What the defaults depend on outside the settings. */
export interface ServeContext {
  /** The cluster network, when known: its clients may recurse by default. */
  clusterNetwork?: Cidr
  /** Cores: the default number of workers. */
  cores: number
  /** /etc/resolv.conf by default; the default upstreams are its nameservers. */
  resolvConf?: string
}

export const DEFAULTS = {
  listen: ['0.0.0.0:53', '[::]:53'],
  zone: 'cluster.local',
  ttl: '5s',
  'negative-ttl': '5s',
  'max-concurrent': 1000,
  allowRecursion: ['127.0.0.0/8', '::1/128'],
} as const
const FORWARD_TIMEOUT_MS = 2000
const MAX_WORKERS = 64
const MAX_TTL_SECONDS = 7 * 24 * 3600
const DOMAIN = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/

/**
 * Checks that a parsed object (a config file's JSON or YAML) holds only known settings of
 * the right kinds; a single string is taken for a one-item list. Throws InvalidValueError
 * naming the key.
 */
export function settingsFromObject(raw: unknown): ServeSettings {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidValueError('config', 'expected an object of settings', `keys: ${SETTING_NAMES.join(', ')}`)
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const kind = KINDS[key as keyof ServeSettings]
    if (!kind) throw new InvalidValueError(key, 'is not a setting', `known: ${SETTING_NAMES.join(', ')}`)
    if (value === null || value === undefined) continue
    out[key] = ofKind(key, kind, value)
  }
  return out as ServeSettings
}

function ofKind(key: string, kind: Kind, value: unknown): unknown {
  const list = (v: unknown, field: string): string[] => {
    const items = typeof v === 'string' ? [v] : v
    if (!Array.isArray(items) || !items.every((item) => typeof item === 'string')) throw new InvalidValueError(field, 'expected a string or a list of strings')
    return items as string[]
  }
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') throw new InvalidValueError(key, 'expected a string')
      return value
    case 'strings':
      return list(value, key)
    case 'boolean':
      if (typeof value !== 'boolean') throw new InvalidValueError(key, 'expected true or false')
      return value
    case 'integer':
      if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value)
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new InvalidValueError(key, 'expected an integer')
      return value
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidValueError(key, 'expected an object of name: [addresses]')
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([name, v]) => [name, list(v, `${key}.${name}`)]))
    }
  }
}

/** The command line over the file: a setting given on both keeps the command line's value. */
export function mergeSettings(file: ServeSettings, commandLine: ServeSettings): ServeSettings {
  const out: Record<string, unknown> = {...file}
  for (const [key, value] of Object.entries(commandLine)) if (value !== undefined) out[key] = value
  return out as ServeSettings
}

/**
 * Every setting checked (InvalidValueError naming the first bad one) and the defaults
 * filled in. Pure but for reading resolv.conf when no upstream is given.
 */
export function resolveServeOptions(settings: ServeSettings, context: ServeContext): ServeOptions {
  const listen = (settings.listen?.length ? settings.listen : DEFAULTS.listen).map((text) => hostPort('listen', text, 53, 'an address:port such as 127.0.0.1:5353 or [::1]:5353'))
  const zone = domain('zone', settings.zone ?? DEFAULTS.zone)
  const upstreams = settings.upstream?.length
    ? settings.upstream.map((text) => hostPort('upstream', text, 53, 'an address[:port] such as 10.0.0.2 or [fd00::2]:53'))
    : upstreamsFromResolvConf(listen.map((l) => l.host), context.resolvConf)
  const forward = Object.entries(settings.forward ?? {}).map(([name, list]): StubDomain => {
    const field = `forward.${name}`
    if (!list.length) throw new InvalidValueError(field, 'expected at least one upstream')
    return {domain: domain('forward', name), upstreams: list.map((text) => hostPort(field, text, 53, 'an address[:port]'))}
  })
  forward.sort((a, b) => b.domain.length - a.domain.length)
  const hosts = Object.entries(settings.hosts ?? {}).map(([name, list]): HostEntry => {
    const field = `hosts.${name}`
    if (!list.length) throw new InvalidValueError(field, 'expected at least one address')
    return {name: domain('hosts', name), addresses: list.map((text) => canonicalAddress(field, text))}
  })
  const workers = settings.workers ?? Math.min(MAX_WORKERS, Math.max(1, context.cores))
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new InvalidValueError('workers', `${workers} is out of range`, `use an integer from 1 to ${MAX_WORKERS}`)
  const maxConcurrent = settings['max-concurrent'] ?? DEFAULTS['max-concurrent']
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new InvalidValueError('max-concurrent', `${maxConcurrent} is not a positive integer`)
  const allowRecursion = settings['allow-recursion']?.length
    ? settings['allow-recursion'].map((text) => cidr('allow-recursion', text))
    : [...DEFAULTS.allowRecursion.map((text) => parseCidr(text)!), ...(context.clusterNetwork ? [context.clusterNetwork] : [])]
  const endpoint = (field: 'health' | 'ready' | 'metrics') => {
    const text = settings[field]
    return text === undefined ? undefined : hostPort(field, text, undefined, 'an address:port such as 127.0.0.1:8181')
  }
  return {
    listen,
    zone,
    upstreams,
    forward,
    hosts,
    ttlSeconds: seconds('ttl', settings.ttl ?? DEFAULTS.ttl),
    negativeTtlSeconds: seconds('negative-ttl', settings['negative-ttl'] ?? DEFAULTS['negative-ttl']),
    onlyPassing: settings['only-passing'] ?? false,
    allowRecursion,
    maxConcurrent,
    forwardTimeoutMs: FORWARD_TIMEOUT_MS,
    http: {health: endpoint('health'), ready: endpoint('ready'), metrics: endpoint('metrics')},
    logQueries: settings['log-queries'] ?? false,
    workers,
  }
}

/**
 * The settings of a command line and a config file, each checked on its own so an error
 * says where the bad value is: a command-line value throws InvalidValueError (the command
 * names its flag), a file's value a ConfigError naming the file and the key (exit 3).
 */
export function resolveFromSources(commandLine: ServeSettings, file: {path: string; settings: ServeSettings} | undefined, context: ServeContext): ServeOptions {
  if (file) {
    try {
      // the file alone, with the command line's listen addresses (its own default upstreams may depend on them)
      resolveServeOptions({...file.settings, listen: commandLine.listen ?? file.settings.listen}, context)
    } catch (error) {
      throw inFile(file.path, error)
    }
  }
  resolveServeOptions(commandLine, context)
  return resolveServeOptions(mergeSettings(file?.settings ?? {}, commandLine), context)
}

/** A bad value from a config file: the file and the key, exit 3. */
export function inFile(path: string, error: unknown): unknown {
  return error instanceof InvalidValueError ? new ConfigError(`${path}: ${error.field}: ${error.problem}`, error.hint) : error
}

function hostPort(field: string, text: string, defaultPort: number | undefined, allowed: string): HostPort {
  const parsed = parseHostPort(text.trim(), defaultPort)
  if (!parsed) throw new InvalidValueError(field, `"${text}" is not ${allowed.startsWith('an') ? allowed : `an ${allowed}`}`)
  return parsed
}

function domain(field: string, text: string): string {
  const name = text.trim().toLowerCase().replace(/\.$/, '')
  if (!DOMAIN.test(name)) throw new InvalidValueError(field, `"${text}" is not a domain name`, 'e.g. cluster.local')
  return name
}

function seconds(field: string, text: string): number {
  return Math.round(requireDuration(field, text, 0, MAX_TTL_SECONDS * 1000) / 1000)
}

function cidr(field: string, text: string): Cidr {
  const trimmed = text.trim()
  const parsed = parseCidr(trimmed.includes('/') ? trimmed : `${trimmed}/${trimmed.includes(':') ? 128 : 32}`)
  if (!parsed) throw new InvalidValueError(field, `"${text}" is not a CIDR`, 'e.g. 10.0.0.0/8 or fd00::/8')
  return parsed
}

function canonicalAddress(field: string, text: string): string {
  const ip = isIP(text.trim()) ? parseIp(text.trim()) : undefined
  if (!ip) throw new InvalidValueError(field, `"${text}" is not an IP address`, 'e.g. 10.0.0.5 or fd00::5')
  return formatIp(ip)
}

/** For messages and logs: the options as a person would write them. */
export function describeUpstreams(upstreams: HostPort[]): string[] {
  return upstreams.map(formatHostPort)
}
