import cluster from 'node:cluster'
import {availableParallelism} from 'node:os'
import {untilAborted} from '../lib/abort.js'
import type {Logger} from '../lib/log.js'
import {formatHostPort} from '../lib/listen-address.js'
import {type Cidr, parseCidr} from '../net/ip.js'
import {readNetworkConfig} from '../net/network-store.js'
import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {AnswerCache} from './answer-cache.js'
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
import {type ServeContext, type ServeOptions, type ServeSettings, describeUpstreams, resolveServeOptions} from './serve-options.js'
import {type ServeRequest, reloadSettings, withReloadSignal} from './serve-settings.js'
import {answerMetricRequests} from './worker-metrics.js'
import {isWorkerReload, reportToPrimary} from './workers.js'

/**
 * The server that answers queries, in this process: `dns serve --workers 1`, or each
 * worker. Loaded only where it runs: the primary of a pool of workers never answers a
 * query, and loading this (prom-client, the forwarder, the answer builders) before it
 * forks its first worker delayed every worker's start.
 */

/**
 * Serves in this process: the registry loads while the cluster network is read. A worker
 * (src/cli/dns-worker.ts) passes the settings the primary read and checked (a config
 * file changed since must not matter), and an index already loading, started before
 * this module and its dependencies were.
 */
export async function serveFromStore(store: Store, keys: Keys, logger: Logger, settings: ServeSettings, request: ServeRequest, stop: AbortSignal, index = new ServiceIndex(store, keys)): Promise<void> {
  const loading = index.start(logger)
  loading.catch(() => {}) // awaited below; told there, not as an unhandled rejection meanwhile
  // Neither this read nor the listing is waited for past a stop: on an etcd that does not
  // answer, each would hold a stopping server until its deadline.
  const clusterNetwork = await Promise.race([clusterNetworkFor(settings, store, keys), untilAborted(stop).then(() => undefined)])
  if (stop.aborted) return stoppedBeforeServing(index)
  const context = {cores: availableParallelism(), clusterNetwork}
  return serveInProcess(store, keys, logger, settings, context, request, stop, index)
}

/**
 * Stopped before it served: the index is let go, and a worker's channel to the primary
 * closed (it would keep the process alive). The caller closes the store, which ends the
 * calls still in flight.
 */
async function stoppedBeforeServing(index: ServiceIndex): Promise<void> {
  await index.close()
  cluster.worker?.disconnect()
}

/** Without --allow-recursion, the cluster network's clients may recurse: read once at start. */
async function clusterNetworkFor(settings: ServeSettings, store: Store, keys: Keys): Promise<Cidr | undefined> {
  if (settings['allow-recursion']?.length) return undefined
  const network = await readNetworkConfig(store, keys).catch(() => undefined)
  return network?.Network ? parseCidr(network.Network) : undefined
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

  // A stop while the first listing is read ends the wait for it (at 100,000 instances, a
  // worker stopped as it started went on listing for seconds).
  await Promise.race([index.start(logger), untilAborted(stop)])
  if (stop.aborted) {
    forwarder.close()
    return stoppedBeforeServing(index)
  }
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
      index.answering()
      // a hangup meant for the primary must not end a worker (SIGHUP's default)
      await withReloadSignal(async () => {}, () => untilAborted(stop))
      return
    }
    const reloads = reloadCounter(metrics.registry)
    workersServingGauge(metrics.registry, () => 1)
    const httpServers = await startHttpEndpoints(options.http, notReady, async () => metrics.registry)
    closers.push(...httpServers.map((s) => () => new Promise<void>((resolve) => s.close(() => resolve()))))
    logger.info('serving DNS', {listen: options.listen.map(formatHostPort), zone: options.zone, upstreams: describeUpstreams(options.upstreams), stubDomains: options.forward.map((f) => f.domain), workers: 1})
    index.answering()
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
