import {requireDuration} from '../lib/duration.js'
import {UsageError} from '../lib/errors.js'
import {type LogFormat, type LogLevel, type Logger, createLogger} from '../lib/log.js'
import {Keys} from '../store/keys.js'
import type {StoreOptions} from '../store/store.js'
import {GLOBAL_DEFAULTS, type GlobalFlagValues} from './global-flags.js'

/**
 * What library functions get from the command line: plain values, never flags.
 * Built once per command from the global flags.
 */
export interface CliContext {
  storeOptions: StoreOptions
  keys: Keys
  logger: Logger
}

export function parseEndpoints(text: string): string[] {
  const endpoints = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
  if (endpoints.length === 0) throw new UsageError('--etcd-endpoints: no endpoint given', 'e.g. http://127.0.0.1:2379')
  for (const endpoint of endpoints) {
    let url: URL
    try {
      url = new URL(endpoint)
    } catch {
      throw new UsageError(`--etcd-endpoints: "${endpoint}" is not a URL`, 'use http://HOST:PORT or https://HOST:PORT')
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`--etcd-endpoints: "${endpoint}" must start with http:// or https://`)
    }
  }
  return endpoints
}

/** A command that declares only some global flags (`cnet cni` has the log flags alone) gets the defaults of the rest. */
export function contextFromFlags(given: Partial<GlobalFlagValues>): CliContext {
  const flags: GlobalFlagValues = {...GLOBAL_DEFAULTS, ...given}
  const logger = createLogger({level: flags['log-level'] as LogLevel, format: flags['log-format'] as LogFormat})
  const storeOptions: StoreOptions = {
    endpoints: parseEndpoints(flags['etcd-endpoints']),
    deadlineMs: requireDuration('etcd-timeout', flags['etcd-timeout'], 100),
    caFile: flags['etcd-cafile'],
    certFile: flags['etcd-certfile'],
    keyFile: flags['etcd-keyfile'],
    username: flags['etcd-username'],
    password: flags['etcd-password'],
  }
  if (!flags['etcd-prefix'].startsWith('/')) throw new UsageError(`--etcd-prefix: "${flags['etcd-prefix']}" must start with /`)
  if (!flags['cnet-prefix'].startsWith('/')) throw new UsageError(`--cnet-prefix: "${flags['cnet-prefix']}" must start with /`)
  const keys = new Keys({networkPrefix: flags['etcd-prefix'], cnetPrefix: flags['cnet-prefix']})
  return {storeOptions, keys, logger}
}
