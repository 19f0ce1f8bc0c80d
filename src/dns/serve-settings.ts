import {formatHostPort} from '../lib/listen-address.js'
import type {Logger} from '../lib/log.js'
import {readServeConfigFile} from './config-file.js'
import {type ServeContext, type ServeOptions, type ServeSettings, describeUpstreams, mergeSettings, resolveFromSources, resolveServeOptions} from './serve-options.js'
import type {WorkerLaunch} from './worker-spec.js'

/**
 * `dns serve`'s settings as read at start and again on SIGHUP: the command line's over
 * the config file's. Shared by the primary of a pool of workers and by a server in one
 * process, and light enough that the primary can read them before it forks.
 */

/** What `dns serve` was started with: the command line's settings and the config file to read (again on SIGHUP). */
export interface ServeRequest {
  commandLine: ServeSettings
  configPath?: string
  /** The query log follows the daemon's log format: CoreDNS's line as text, fields in JSON. */
  logFormat: 'text' | 'json'
  /** How workers reach etcd and log, when there are workers: the command line's global settings. */
  launch?: WorkerLaunch
}

/** The command line's settings over the config file's, checked, with the options they give. */
export async function loadSettings(request: ServeRequest, context: ServeContext): Promise<{settings: ServeSettings; options: ServeOptions}> {
  const file = request.configPath ? {path: request.configPath, settings: await readServeConfigFile(request.configPath)} : undefined
  const options = resolveFromSources(request.commandLine, file, context)
  return {settings: mergeSettings(file?.settings ?? {}, request.commandLine), options}
}

/**
 * The config read again for a reload, or undefined (logged once) when it is bad. What
 * a reload cannot change (sockets, endpoints, workers) keeps its running value, with a
 * warning that it needs a restart.
 */
export async function reloadSettings(request: ServeRequest, context: ServeContext, running: ServeOptions, logger: Logger): Promise<{settings: ServeSettings; options: ServeOptions} | undefined> {
  let next: {settings: ServeSettings; options: ServeOptions}
  try {
    next = await loadSettings(request, context)
  } catch (error) {
    logger.error('reload failed: keeping the running config', {config: request.configPath, error: (error as Error).message})
    return undefined
  }
  const fixed = RESTART_ONLY.filter((key) => JSON.stringify(pick(next.options, key)) !== JSON.stringify(pick(running, key)))
  if (fixed.length) logger.warn('reload: these settings change only with a restart; keeping their running values', {settings: fixed})
  const settings = {...next.settings, listen: running.listen.map(formatHostPort), workers: running.workers, ...httpSettings(running)}
  logger.info('config reloaded', {config: request.configPath, zone: next.options.zone, upstreams: describeUpstreams(next.options.upstreams), stubDomains: next.options.forward.map((f) => f.domain), hosts: next.options.hosts.length})
  return {settings, options: resolveServeOptions(settings, context)}
}

/** Settings a reload cannot change: sockets, endpoints, processes. */
const RESTART_ONLY = ['listen', 'workers', 'health', 'ready', 'metrics'] as const

const pick = (options: ServeOptions, key: (typeof RESTART_ONLY)[number]) => (key === 'listen' || key === 'workers' ? options[key] : options.http[key])

function httpSettings(options: ServeOptions): Pick<ServeSettings, 'health' | 'ready' | 'metrics'> {
  const text = (address?: {host: string; port: number}) => (address ? formatHostPort(address) : undefined)
  return {health: text(options.http.health), ready: text(options.http.ready), metrics: text(options.http.metrics)}
}

/** Runs `reload` on each SIGHUP while `job` runs, one at a time. */
export async function withReloadSignal<T>(reload: () => Promise<void>, job: () => Promise<T>): Promise<T> {
  let running: Promise<void> = Promise.resolve()
  const onHangup = () => {
    running = running.then(reload, reload)
  }
  process.on('SIGHUP', onHangup)
  try {
    return await job()
  } finally {
    process.off('SIGHUP', onHangup)
  }
}

