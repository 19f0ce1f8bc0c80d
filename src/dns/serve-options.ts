import {UsageError} from '../lib/errors.js'
import {requireDurationMs} from '../lib/duration.js'
import {type Cidr, parseCidr} from '../net/ip.js'
import {readNetworkConfig} from '../net/network-store.js'
import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {parseCidrList, parseHostPort, upstreamsFromResolvConf} from './forward.js'
import type {ServeOptions} from './server.js'

export interface ServeFlags {
  listen: string[]
  zone: string
  upstream?: string[]
  ttl: string
  'negative-ttl': string
  'only-passing': boolean
  'allow-recursion'?: string[]
  'max-concurrent': number
  health?: string
  ready?: string
  metrics?: string
  'log-queries': boolean
  workers: number
}

/** Checks every flag (one-line UsageError naming it) and fills in the defaults. */
export async function resolveServeOptions(flags: ServeFlags, store: Store, keys: Keys): Promise<ServeOptions> {
  const listen = flags.listen.map((text) => parseHostPort(text, 53) ?? bad('--listen', text, 'an address:port such as 127.0.0.1:5353 or [::1]:5353'))
  const zone = flags.zone.toLowerCase().replace(/\.$/, '')
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(zone)) bad('--zone', flags.zone, 'a domain name such as cluster.local')
  for (const text of flags.upstream ?? []) if (!parseHostPort(text, 53)) bad('--upstream', text, 'an address[:port]')
  const upstreams = flags.upstream?.length ? flags.upstream : upstreamsFromResolvConf(listen.map((l) => l.host))
  const ttlSeconds = Math.round(requireDurationMs('--ttl', flags.ttl, 0) / 1000)
  const negativeTtlSeconds = Math.round(requireDurationMs('--negative-ttl', flags['negative-ttl'], 0) / 1000)
  if (!Number.isInteger(flags.workers) || flags.workers < 1 || flags.workers > 64) bad('--workers', String(flags.workers), 'an integer from 1 to 64')
  if (flags['max-concurrent'] < 1) bad('--max-concurrent', String(flags['max-concurrent']), 'a positive integer')
  let allowRecursion: Cidr[]
  if (flags['allow-recursion']?.length) {
    allowRecursion = parseCidrList(flags['allow-recursion']) ?? bad('--allow-recursion', flags['allow-recursion'].join(','), 'CIDRs such as 10.0.0.0/8')
  } else {
    allowRecursion = [parseCidr('127.0.0.0/8')!, parseCidr('::1/128')!]
    const network = await readNetworkConfig(store, keys).catch(() => undefined)
    const cluster = network?.Network ? parseCidr(network.Network) : undefined
    if (cluster) allowRecursion.push(cluster)
  }
  const address = (flag: string, text?: string) => (text === undefined ? undefined : (parseHostPort(text, 0) ?? bad(flag, text, 'an address:port')))
  return {
    listen,
    zone,
    upstreams,
    ttlSeconds,
    negativeTtlSeconds,
    onlyPassing: flags['only-passing'],
    allowRecursion,
    maxConcurrent: flags['max-concurrent'],
    forwardTimeoutMs: 2000,
    http: {health: address('--health', flags.health), ready: address('--ready', flags.ready), metrics: address('--metrics', flags.metrics)},
    logQueries: flags['log-queries'],
    workers: flags.workers,
  }
}

function bad(flag: string, value: string, allowed: string): never {
  throw new UsageError(`${flag} ${value}: expected ${allowed}`)
}
