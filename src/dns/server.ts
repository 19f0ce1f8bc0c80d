import cluster from 'node:cluster'
import {availableParallelism} from 'node:os'
import {untilAborted} from '../lib/abort.js'
import type {Logger} from '../lib/log.js'
import {formatHostPort} from '../lib/listen-address.js'
import {type Cidr, parseCidr} from '../net/ip.js'
import {readNetworkConfig} from '../net/network-store.js'
import {readStoreCredentials} from '../store/credentials.js'
import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {AnswerCache} from './answer-cache.js'
import {readServeConfigFile} from './config-file.js'
import {Forwarder, type ForwarderOptions} from './forward.js'
import type {HandlerDeps} from './handler.js'
import {StaticHosts} from './hosts.js'
import {startHttpEndpoints} from './http.js'
import {ServiceIndex} from './index.js'
import {listenOn} from './listen.js'
import {DnsMetrics, reloadCounter, workersServingGauge} from './metrics.js'
import {ownAddresses} from './own-addresses.js'
import {createQueryLog} from './query-log.js'
import {type RecordSource} from './records.js'
import {type ServeContext, type ServeOptions, type ServeSettings, describeUpstreams, mergeSettings, resolveFromSources, resolveServeOptions} from './serve-options.js'
import {answerMetricRequests} from './worker-metrics.js'
import type {WorkerLaunch} from './worker-spec.js'
import {type WorkerPool, isWorkerReload, reportToPrimary, runWorkers} from './workers.js'

/** What `dns serve` was started with: the command line's settings and the config file to read (again on SIGHUP). */
export interface ServeRequest {
  commandLine: ServeSettings
  configPath?: string
  /** The query log follows the daemon's log format: CoreDNS's line as text, fields in JSON. */
  logFormat: 'text' | 'json'
  /** How workers reach etcd and log, when there are workers: the command line's global settings. */
  launch?: WorkerLaunch
}

/**
 * Runs the DNS server until `stop` fires: in this process, or in workers. Reads the
 * config (a ConfigError for a bad file, InvalidValueError for a bad setting), and
 * reloads it on SIGHUP: a good file replaces the running config without closing a
 * socket; a bad one is logged and the running config stays.
 */
export async function runDnsServer(openStore: () => Promise<Store>, keys: Keys, logger: Logger, request: ServeRequest, stop: AbortSignal): Promise<void> {
  const cores = availableParallelism()
  const first = await loadSettings(request, {cores})
  if (first.options.workers > 1) {
    // The workers open etcd, not this process: a TLS file it cannot read is told here, once, not by each worker in turn.
    if (request.launch) readStoreCredentials(request.launch.storeOptions)
    let pool: WorkerPool | undefined
    const reload = async () => {
      if (!pool) return
      const next = await reloadSettings(request, {cores}, first.options, logger)
      pool.reloads.labels(next ? 'ok' : 'failed').inc()
      if (next) pool.reload(next.settings)
    }
    return withReloadSignal(reload, () =>
      runWorkers({count: first.options.workers, http: first.options.http, settings: first.settings, launch: request.launch, onServing: (p) => (pool = p)}, logger, stop),
    )
  }
  return serveFromStore(await openStore(), keys, logger, first.settings, request, stop)
}

/**
 * A worker's server (src/cli/dns-worker.ts): the settings the primary read and
 * checked (a config file changed since must not matter), and an index already loading,
 * started before this module and its dependencies were.
 */
export async function runDnsWorker(store: Store, keys: Keys, logger: Logger, settings: ServeSettings, request: ServeRequest, stop: AbortSignal, index: ServiceIndex): Promise<void> {
  return serveFromStore(store, keys, logger, settings, request, stop, index)
}

/** Serves in this process: the registry loads while the cluster network is read. */
async function serveFromStore(store: Store, keys: Keys, logger: Logger, settings: ServeSettings, request: ServeRequest, stop: AbortSignal, index = new ServiceIndex(store, keys)): Promise<void> {
  const loading = index.start(logger)
  loading.catch(() => {}) // awaited below; told there, not as an unhandled rejection meanwhile
  const context = {cores: availableParallelism(), clusterNetwork: await clusterNetworkFor(settings, store, keys)}
  return serveInProcess(store, keys, logger, settings, context, request, stop, index)
}

/** The command line's settings over the config file's, checked, with the options they give. */
async function loadSettings(request: ServeRequest, context: ServeContext): Promise<{settings: ServeSettings; options: ServeOptions}> {
  const file = request.configPath ? {path: request.configPath, settings: await readServeConfigFile(request.configPath)} : undefined
  const options = resolveFromSources(request.commandLine, file, context)
  return {settings: mergeSettings(file?.settings ?? {}, request.commandLine), options}
}

/**
 * The config read again for a reload, or undefined (logged once) when it is bad. What
 * a reload cannot change (sockets, endpoints, workers) keeps its running value, with a
 * warning that it needs a restart.
 */
async function reloadSettings(request: ServeRequest, context: ServeContext, running: ServeOptions, logger: Logger): Promise<{settings: ServeSettings; options: ServeOptions} | undefined> {
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

/** Without --allow-recursion, the cluster network's clients may recurse: read once at start. */
async function clusterNetworkFor(settings: ServeSettings, store: Store, keys: Keys): Promise<Cidr | undefined> {
  if (settings['allow-recursion']?.length) return undefined
  const network = await readNetworkConfig(store, keys).catch(() => undefined)
  return network?.Network ? parseCidr(network.Network) : undefined
}

/** Runs `reload` on each SIGHUP while `job` runs, one at a time. */
async function withReloadSignal<T>(reload: () => Promise<void>, job: () => Promise<T>): Promise<T> {
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

/** This process answers queries: alone, or as one of the workers. */
async function serveInProcess(store: Store, keys: Keys, logger: Logger, settings: ServeSettings, context: ServeContext, request: ServeRequest, stop: AbortSignal, index: ServiceIndex): Promise<void> {
  let options = resolveServeOptions(settings, context)
  const forwarder = new Forwarder(forwarderOptions(options))
  const server = `dns://${options.listen.map(formatHostPort).join(',')}`
  const metrics = new DnsMetrics(server, [options.zone, ...forwarder.zones], {
    cache: () => ({hits: state.deps.answers.hits + answersGone.hits + forwarder.cache.hits, misses: state.deps.answers.misses + answersGone.misses + forwarder.cache.misses, entries: state.deps.answers.size + forwarder.cache.size}),
    upstreams: () => forwarder.upstreams,
    concurrencyRejects: () => forwarder.concurrencyRejects,
  })
  /** Hits and misses of answer caches a reload replaced, so the totals never go down. */
  const answersGone = {hits: 0, misses: 0}
  const build = (opts: ServeOptions): HandlerDeps => {
    const hosts = new StaticHosts(opts.hosts)
    const source: RecordSource = {
      healthy: (service) => index.registry.healthy(service, opts.onlyPassing),
      atAddress: (address) => index.registry.atAddress(address),
      hasNamespace: (namespace) => index.registry.hasNamespace(namespace),
    }
    const zoneSuffix = `.${opts.zone}`
    const recordOptions = {zone: opts.zone, ttlSeconds: opts.ttlSeconds, negativeTtlSeconds: opts.negativeTtlSeconds, nameserverAddresses: ownAddresses(opts.listen), hosts}
    const answers = new AnswerCache(source, recordOptions, (name) => (name === opts.zone || name.endsWith(zoneSuffix) ? 0 : forwarder.routeFor(name).metricsZone))
    return {zone: opts.zone, zoneSuffix, loaded: () => index.loaded, registry: index.registry, hosts, answers, forwarder, metrics, queryLog: opts.logQueries ? createQueryLog(logger.child('dns/query'), request.logFormat) : undefined}
  }
  const state = {deps: build(options)}
  index.onChange((change) => state.deps.answers.invalidate(change))
  const apply = (next: ServeOptions) => {
    forwarder.configure(forwarderOptions(next))
    metrics.setZones([next.zone, ...forwarder.zones])
    answersGone.hits += state.deps.answers.hits
    answersGone.misses += state.deps.answers.misses
    options = next
    state.deps = build(next)
  }
  const notReady = () => (index.inSync ? undefined : 'etcd unreachable: answering from the last known services')

  await index.start(logger)
  const closers: (() => Promise<void>)[] = [() => index.close(), async () => forwarder.close()]
  try {
    for (const address of options.listen) closers.push(...(await listenOn(address, () => state.deps, logger)))
    if (cluster.isWorker) {
      const reloadWorker = (next: ServeSettings) => {
        try {
          apply(resolveServeOptions(next, context))
        } catch (error) {
          logger.error('reload failed in a worker: keeping the running config', {error: (error as Error).message})
        }
      }
      closers.push(followFromWorker(metrics, notReady, reloadWorker))
      // a hangup meant for the primary must not end a worker (SIGHUP's default)
      await withReloadSignal(async () => {}, () => untilAborted(stop))
      return
    }
    const reloads = reloadCounter(metrics.registry)
    workersServingGauge(metrics.registry, () => 1)
    const httpServers = await startHttpEndpoints(options.http, notReady, async () => metrics.registry)
    closers.push(...httpServers.map((s) => () => new Promise<void>((resolve) => s.close(() => resolve()))))
    logger.info('serving DNS', {listen: options.listen.map(formatHostPort), zone: options.zone, upstreams: describeUpstreams(options.upstreams), stubDomains: options.forward.map((f) => f.domain), workers: 1})
    const reload = async () => {
      const next = await reloadSettings(request, context, options, logger)
      reloads.labels(next ? 'ok' : 'failed').inc()
      if (next) apply(next.options)
    }
    await withReloadSignal(reload, () => untilAborted(stop))
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {})
  }
}

function forwarderOptions(options: ServeOptions): ForwarderOptions {
  return {upstreams: options.upstreams, forward: options.forward, timeoutMs: options.forwardTimeoutMs, maxConcurrent: options.maxConcurrent, allowRecursion: options.allowRecursion}
}

/**
 * In a worker: the primary serves the HTTP endpoints, so it is told this worker's state
 * and can collect its metrics; and it sends reloaded settings.
 */
function followFromWorker(metrics: DnsMetrics, notReady: () => string | undefined, reload: (settings: ServeSettings) => void): () => Promise<void> {
  const stopAnswering = answerMetricRequests(metrics.registry)
  let last: string | undefined = 'unknown'
  const report = () => {
    const now = notReady()
    if (now === last) return
    last = now
    reportToPrimary({listening: true, notReady: now})
  }
  report()
  const timer = setInterval(report, 250)
  const onMessage = (message: unknown) => {
    if (isWorkerReload(message)) reload(message.settings)
  }
  process.on('message', onMessage)
  return async () => {
    clearInterval(timer)
    stopAnswering()
    process.off('message', onMessage)
    // The IPC channel would keep this process alive after the server stopped.
    cluster.worker?.disconnect()
  }
}
