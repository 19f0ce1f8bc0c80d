import {isIP} from 'node:net'
import {InvalidValueError} from '../lib/errors.js'
import {HEALTH_STATUSES, type HealthStatus} from './model.js'

/**
 * Checks of what a user gave (on the command line or in a definition file), each
 * throwing an InvalidValueError (exit 2) that names the field in cnet's terms ("port",
 * "check.interval"), the value and what is allowed; the CLI tells the field as its flag,
 * a definition file as its path in the file. Pure: nothing here reads or writes state,
 * so a bad input is refused before anything reaches etcd.
 */

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
/** Consul's limits on service meta. */
export const META_MAX_KEYS = 64
export const META_MAX_KEY_LENGTH = 128
export const META_MAX_VALUE_LENGTH = 512
const META_KEY = /^[A-Za-z0-9_-]+$/
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Names, ids, namespaces and port names become DNS labels, so they must be ones. */
export function requireDnsLabel(field: string, value: string): string {
  if (!DNS_LABEL.test(value)) {
    throw new InvalidValueError(field, `"${value}" is not a DNS label`, 'use 1 to 63 lowercase letters, digits and -, not starting or ending with -')
  }
  return value
}

export function requireIp(field: string, value: string): string {
  if (isIP(value) === 0) throw new InvalidValueError(field, `"${value}" is not an IP address`, 'e.g. 10.5.52.7 or fd00::7')
  return value
}

export function requirePort(field: string, value: number | string): number {
  const port = typeof value === 'number' ? value : Number(value)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new InvalidValueError(field, `"${value}" is not a port`, 'use 1 to 65535')
  return port
}

export function requireIntegerIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new InvalidValueError(field, `${value} is out of range`, `use an integer from ${min} to ${max}`)
  return value
}

export function requireStatus(field: string, value: string): HealthStatus {
  if (!HEALTH_STATUSES.includes(value as HealthStatus)) throw new InvalidValueError(field, `"${value}" is not a health status`, `use ${HEALTH_STATUSES.join(', ')}`)
  return value as HealthStatus
}

/** An http:// or https:// URL with a host. */
export function requireHttpUrl(field: string, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidValueError(field, `"${value}" is not a URL`, 'e.g. http://127.0.0.1:8080/health')
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new InvalidValueError(field, `"${value}" must be an http:// or https:// URL with a host`, 'e.g. http://127.0.0.1:8080/health')
  }
  return url.toString()
}

/** HOST:PORT or [IPv6]:PORT; HOST is an IP address or a host name. */
export function parseHostPort(field: string, value: string): {host: string; port: number} {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:[\]]+):(\d+)$/.exec(value)
  const hint = 'use HOST:PORT, e.g. 127.0.0.1:5432 or [::1]:5432'
  if (!match) throw new InvalidValueError(field, `"${value}" is not HOST:PORT`, hint)
  const [, host, portText] = match
  const isName = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(host)
  if (isIP(host) === 0 && !isName) throw new InvalidValueError(field, `"${host}" is not an IP address or host name`, hint)
  if (value.startsWith('[') && isIP(host) !== 6) throw new InvalidValueError(field, `"${host}" is not an IPv6 address`, hint)
  const port = Number(portText)
  if (port < 1 || port > 65_535) throw new InvalidValueError(field, `port ${portText} is out of range`, 'use 1 to 65535')
  return {host, port}
}

/** `K=V` entries within Consul's meta limits. */
export function parseMeta(field: string, entries: readonly string[]): Record<string, string> {
  const meta: Record<string, string> = {}
  for (const entry of entries) {
    const eq = entry.indexOf('=')
    if (eq <= 0) throw new InvalidValueError(field, `"${entry}" is not KEY=VALUE`, 'e.g. version=1.4.2')
    const key = entry.slice(0, eq)
    const value = entry.slice(eq + 1)
    if (!META_KEY.test(key)) throw new InvalidValueError(field, `key "${key}" may hold only letters, digits, _ and -`)
    if (key.length > META_MAX_KEY_LENGTH) throw new InvalidValueError(field, `key "${key.slice(0, 20)}..." is ${key.length} characters long`, `at most ${META_MAX_KEY_LENGTH}`)
    if (value.length > META_MAX_VALUE_LENGTH) throw new InvalidValueError(field, `the value of "${key}" is ${value.length} characters long`, `at most ${META_MAX_VALUE_LENGTH}`)
    if (key in meta) throw new InvalidValueError(field, `key "${key}" is given twice`)
    meta[key] = value
  }
  if (Object.keys(meta).length > META_MAX_KEYS) throw new InvalidValueError(field, `${Object.keys(meta).length} keys given`, `at most ${META_MAX_KEYS}`)
  return meta
}

/** `Name: value` entries; a name given twice keeps both values, as HTTP allows. */
export function parseHeaders(field: string, entries: readonly string[]): Record<string, string[]> {
  const headers: Record<string, string[]> = {}
  for (const entry of entries) {
    const colon = entry.indexOf(':')
    const name = colon > 0 ? entry.slice(0, colon).trim() : ''
    if (!HEADER_NAME.test(name)) throw new InvalidValueError(field, `"${entry}" is not NAME:VALUE with a valid header name`, 'e.g. "Authorization: Bearer x"')
    const value = entry.slice(colon + 1).trim()
    if (/[\r\n\0]/.test(value)) throw new InvalidValueError(field, `the value of "${name}" holds a line break or NUL`)
    ;(headers[name] ??= []).push(value)
  }
  return headers
}

export function requireMethod(field: string, value: string): string {
  if (!/^[A-Z]{1,16}$/.test(value)) throw new InvalidValueError(field, `"${value}" is not an HTTP method`, 'e.g. GET, HEAD, POST')
  return value
}

/** Tags are free text, but not empty, not huge, and without control characters. */
export function requireTags(field: string, tags: readonly string[]): string[] {
  for (const tag of tags) {
    // eslint-disable-next-line no-control-regex
    if (tag === '' || tag.length > 255 || /[\u0000-\u001f\u007f]/.test(tag)) {
      throw new InvalidValueError(field, `"${tag}" is not a tag`, 'use 1 to 255 printable characters')
    }
  }
  return [...new Set(tags)]
}

/**
 * Splits a command line into arguments the way a shell would split words, without
 * any expansion: single and double quotes group, backslash escapes. Exec checks run
 * the result directly, never through a shell.
 */
export function splitCommandLine(field: string, text: string): string[] {
  const args: string[] = []
  let current = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quote) {
      if (c === quote) quote = undefined
      else if (c === '\\' && quote === '"' && i + 1 < text.length) current += text[++i]
      else current += c
    } else if (c === '"' || c === "'") {
      quote = c
      inWord = true
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) args.push(current)
      current = ''
      inWord = false
    } else {
      current += c
      inWord = true
    }
  }
  if (quote) throw new InvalidValueError(field, `unbalanced ${quote} in "${text}"`)
  if (inWord) args.push(current)
  if (args.length === 0) throw new InvalidValueError(field, `no command given`, 'e.g. "/usr/local/bin/check-db --quick"')
  return args
}

/** An integer typed as text (parsed here, not by oclif, so the message names the field). */
export function parseInteger(field: string, text: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text.trim())) throw new InvalidValueError(field, `"${text}" is not an integer`, `use an integer from ${min} to ${max}`)
  return requireIntegerIn(field, Number(text), min, max)
}
