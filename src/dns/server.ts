import cluster from 'node:cluster'
import dgram from 'node:dgram'
import net from 'node:net'
import {untilAborted} from '../lib/abort.js'
import {CnetError} from '../lib/errors.js'
import type {Logger} from '../lib/log.js'
import type {Cidr} from '../net/ip.js'
import type {Keys} from '../store/keys.js'
import type {Store} from '../store/store.js'
import {AnswerCache} from './answer-cache.js'
import {Forwarder} from './forward.js'
import {type HandlerDeps, handleQuery} from './handler.js'
import {type HttpEndpoints, startHttpEndpoints} from './http.js'
import {ServiceIndex} from './index.js'
import {DnsMetrics} from './metrics.js'
import {ReplyBatch} from './reply-batch.js'
import {reportToPrimary, runWorkers} from './workers.js'
import {AggregatorRegistry} from 'prom-client'

export interface ServeOptions {
  listen: {host: string; port: number}[]
  zone: string
  upstreams: string[]
  ttlSeconds: number
  negativeTtlSeconds: number
  onlyPassing: boolean
  allowRecursion: Cidr[]
  maxConcurrent: number
  forwardTimeoutMs: number
  http: HttpEndpoints
  logQueries: boolean
  /** Processes answering queries (node:cluster); 1 answers in this process. */
  workers: number
}

/** Runs the DNS server until `stop` fires: in this process, or in `workers` processes. */
export async function serveDns(store: Store, keys: Keys, logger: Logger, options: ServeOptions, stop: AbortSignal): Promise<void> {
  if (options.workers > 1 && cluster.isPrimary) return runWorkers(options.workers, options.http, logger, stop)
  const index = new ServiceIndex(store, keys)
  const answers = new AnswerCache(index, {zone: options.zone, ttlSeconds: options.ttlSeconds, negativeTtlSeconds: options.negativeTtlSeconds, onlyPassing: options.onlyPassing})
  index.onChange(() => answers.invalidate())
  const forwarder = new Forwarder({upstreams: options.upstreams, timeoutMs: options.forwardTimeoutMs, maxConcurrent: options.maxConcurrent, allowRecursion: options.allowRecursion})
  let scraped = {hits: 0, misses: 0, errors: 0}
  const metrics: DnsMetrics = new DnsMetrics(`dns://${options.listen.map((l) => `${l.host}:${l.port}`).join(',')}`, options.zone, () => {
    const now = {hits: answers.hits + forwarder.cache.hits, misses: answers.misses + forwarder.cache.misses, errors: forwarder.upstreamErrors}
    metrics.cacheHits.inc(now.hits - scraped.hits)
    metrics.cacheMisses.inc(now.misses - scraped.misses)
    metrics.upstreamErrors.inc(now.errors - scraped.errors)
    scraped = now
    metrics.cacheEntries.set(answers.size + forwarder.cache.size)
  })
  const deps: HandlerDeps = {zone: options.zone, zoneSuffix: `.${options.zone}`, index, answers, forwarder, metrics, queryLog: options.logQueries ? logger.child('query') : undefined}
  const notReady = () => (index.inSync ? undefined : 'etcd unreachable: answering from the last known services')

  await index.start(logger)
  const closers: (() => Promise<void>)[] = [() => index.close()]
  try {
    for (const address of options.listen) closers.push(...(await listenOn(address, deps, logger)))
    if (cluster.isWorker) closers.push(followFromWorker(metrics, notReady))
    else {
      const httpServers = await startHttpEndpoints(options.http, notReady, async () => metrics.registry)
      closers.push(...httpServers.map((server) => () => new Promise<void>((resolve) => server.close(() => resolve()))))
      logger.info('serving DNS', {listen: options.listen.map((l) => `${l.host}:${l.port}`), zone: options.zone, upstreams: options.upstreams})
    }
    await untilAborted(stop)
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {})
  }
}

/** In a worker: the primary serves the HTTP endpoints, so it is told this worker's state and can collect its metrics. */
function followFromWorker(metrics: DnsMetrics, notReady: () => string | undefined): () => Promise<void> {
  // Constructing one is what makes prom-client answer the primary's metric requests here.
  new AggregatorRegistry()
  AggregatorRegistry.setRegistries([metrics.registry])
  let last: string | undefined = 'unknown'
  const report = () => {
    const now = notReady()
    if (now === last) return
    last = now
    reportToPrimary({listening: true, notReady: now})
  }
  report()
  const timer = setInterval(report, 250)
  return async () => {
    clearInterval(timer)
    // The IPC channel would keep this process alive after the server stopped.
    cluster.worker?.disconnect()
  }
}

async function listenOn(address: {host: string; port: number}, deps: HandlerDeps, logger: Logger): Promise<(() => Promise<void>)[]> {
  const family = net.isIPv6(address.host) ? 'udp6' : 'udp4'
  const udp = dgram.createSocket({
    type: family,
    ipv6Only: family === 'udp6',
    // Every address this socket sees is an IP literal (--listen is parsed as one, replies
    // go where queries came from): resolving them through dns.lookup cost a tick per reply.
    lookup: family === 'udp6' ? literalLookup6 : literalLookup4,
    // Room for bursts (the kernel caps this at net.core.rmem_max): a full receive buffer
    // drops queries, which clients see as timeouts.
    recvBufferSize: SOCKET_BUFFER_BYTES,
    sendBufferSize: SOCKET_BUFFER_BYTES,
  })
  const outbox = new ReplyBatch(udp)
  udp.on('message', (message, remote) => {
    if (remote.port === 0) return // nothing can be sent back to port 0
    const reply = handleQuery(deps, message, 'udp', remote)
    if (reply instanceof Promise)
      reply.then(
        (out) => {
          if (out) outbox.send(out, remote.port, remote.address)
        },
        (error: Error) => logger.warn('query failed', {error: error.message}),
      )
    else if (reply) outbox.send(reply, remote.port, remote.address)
  })
  await bind(address, (done) => {
    udp.once('error', done)
    udp.bind(address.port, address.host, () => done())
  })
  udp.on('error', (error) => logger.warn('udp socket error', {error: error.message}))

  const tcp = net.createServer((socket) => {
    let data = Buffer.alloc(0)
    socket.setTimeout(10_000, () => socket.destroy())
    socket.on('error', () => socket.destroy())
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk])
      while (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        const message = data.subarray(2, 2 + data.readUInt16BE(0))
        data = data.subarray(2 + message.length)
        Promise.resolve(handleQuery(deps, message, 'tcp', {address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, family: socket.remoteFamily ?? 'IPv4'})).then(
          (reply) => {
            if (!reply) return void socket.destroy()
            const length = Buffer.alloc(2)
            length.writeUInt16BE(reply.length)
            socket.write(Buffer.concat([length, reply]))
          },
          () => socket.destroy(),
        )
      }
      if (data.length > 70_000) socket.destroy()
    })
  })
  await bind(address, (done) => {
    tcp.once('error', done)
    tcp.listen({port: address.port, host: address.host, ipv6Only: net.isIPv6(address.host)}, () => done())
  })
  return [
    () =>
      new Promise<void>((resolve) => {
        outbox.close()
        udp.close(() => resolve())
      }),
    () => new Promise<void>((resolve) => tcp.close(() => resolve())),
  ]
}

const SOCKET_BUFFER_BYTES = 4 << 20

type LookupCallback = (error: Error | null, address: string, family: number) => void
const literalLookup4 = (address: string, _options: unknown, callback: LookupCallback) => callback(null, address, 4)
const literalLookup6 = (address: string, _options: unknown, callback: LookupCallback) => callback(null, address, 6)

async function bind(address: {host: string; port: number}, attempt: (done: (error?: Error) => void) => void): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => attempt((error) => (error ? reject(error) : resolve())))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const where = address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
    if (code === 'EACCES') throw new CnetError(`--listen ${where}: binding port ${address.port} needs root (try --listen 127.0.0.1:5353)`)
    if (code === 'EADDRINUSE') throw new CnetError(`--listen ${where}: address already in use`)
    if (code === 'EADDRNOTAVAIL') throw new CnetError(`--listen ${where}: no such local address`)
    throw error
  }
}
