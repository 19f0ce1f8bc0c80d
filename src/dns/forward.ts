import type {HostPort} from '../lib/listen-address.js'
import {type Cidr, cidrContainsIp, parseIp} from '../net/ip.js'
import {ForwardCache} from './cache.js'
import type {StubDomain} from './serve-options.js'
import {DEFAULT_UDP_POOL, UdpPool, type UdpPoolOptions} from './udp-pool.js'
import {DEFAULT_HEALTH_CHECK, type HealthCheckOptions, Upstream} from './upstream.js'
import type {Query} from './wire.js'

export interface ForwarderOptions {
  /** The default upstreams: names no stub domain claims. */
  upstreams: HostPort[]
  /** Stub domains, longest first. */
  forward: StubDomain[]
  timeoutMs: number
  maxConcurrent: number
  allowRecursion: Cidr[]
  healthCheck?: HealthCheckOptions
  udpPool?: UdpPoolOptions
}

/** Where a forwarded name goes: a stub domain's upstreams, or the default ones ("."). */
export interface Route {
  /** The stub domain, or "." for the default upstreams: the `zone` label of its metrics. */
  readonly zone: string
  readonly upstreams: readonly Upstream[]
  /** "." + domain, so the per-query suffix test joins no string. */
  readonly suffix: string
  /** Its index in the metrics' zones: 1 + its place among the stub domains; the default route last. */
  readonly metricsZone: number
}

export type ForwardResult = {reply: Buffer; stale?: boolean} | {refused: true} | {failed: true}

/**
 * Forwards names outside the zone: to the upstreams of the longest stub domain that
 * contains the name, else to the default ones; UDP over a bounded socket pool, TCP
 * (one reused connection per upstream) when the answer is truncated; upstreams that
 * fail are health-checked and skipped while down; a cache with serve-stale; a cap on
 * queries in flight; and recursion only for allowed clients.
 */
export class Forwarder {
  readonly cache = new ForwardCache()
  inFlight = 0
  /** Queries refused because maxConcurrent were in flight. */
  concurrencyRejects = 0
  private readonly udp: UdpPool
  private readonly upstreamsByLabel = new Map<string, Upstream>()
  private routes: Route[] = []
  private fallback!: Route
  private options!: ForwarderOptions
  private readonly verdicts = new Map<string, boolean>()

  constructor(options: ForwarderOptions) {
    this.udp = new UdpPool(options.udpPool ?? DEFAULT_UDP_POOL)
    this.configure(options)
  }

  /**
   * New upstreams, stub domains and limits (a reload). Upstreams kept keep their health;
   * the cache is emptied, since a name may now go elsewhere.
   */
  configure(options: ForwarderOptions): void {
    this.options = options
    const wanted = new Map<string, Upstream>()
    const upstreamOf = (address: HostPort) => {
      const fresh = new Upstream(address, this.udp, options.healthCheck ?? DEFAULT_HEALTH_CHECK)
      const upstream = wanted.get(fresh.label) ?? this.upstreamsByLabel.get(fresh.label) ?? fresh
      wanted.set(upstream.label, upstream)
      return upstream
    }
    this.routes = options.forward.map((stub, i) => ({zone: stub.domain, upstreams: stub.upstreams.map(upstreamOf), suffix: `.${stub.domain}`, metricsZone: i + 1}))
    this.fallback = {zone: '.', upstreams: options.upstreams.map(upstreamOf), suffix: '', metricsZone: this.routes.length + 1}
    for (const [label, upstream] of this.upstreamsByLabel) if (!wanted.has(label)) upstream.stop()
    this.upstreamsByLabel.clear()
    for (const [label, upstream] of wanted) this.upstreamsByLabel.set(label, upstream)
    this.verdicts.clear()
    this.cache.clear()
  }

  /** Every upstream in use, for metrics. */
  get upstreams(): Upstream[] {
    return [...this.upstreamsByLabel.values()]
  }

  /** The zones forwarded names are counted under: each stub domain, then "." (metrics zones 1 and up). */
  get zones(): string[] {
    return [...this.routes.map((route) => route.zone), '.']
  }

  /** The route of a (lower-cased, dotless) name: the longest stub domain containing it, else the default. */
  routeFor(name: string): Route {
    for (const route of this.routes) if (name === route.zone || name.endsWith(route.suffix)) return route
    return this.fallback
  }

  allowed(clientAddress: string): boolean {
    let verdict = this.verdicts.get(clientAddress)
    if (verdict === undefined) {
      const ip = parseIp(clientAddress.replace(/^::ffff:/, ''))
      verdict = ip !== undefined && this.options.allowRecursion.some((cidr) => cidrContainsIp(cidr, ip))
      if (this.verdicts.size > 10_000) this.verdicts.clear()
      this.verdicts.set(clientAddress, verdict)
    }
    return verdict
  }

  /** A fresh cache hit without a promise, for the synchronous fast path. */
  cached(query: Query): Buffer | undefined {
    return this.cache.get(cacheKey(query))
  }

  /**
   * The upstream's answer (the client's id not yet put back), a stale cached one when
   * every upstream failed, or why there is none. The caller has already missed the cache.
   */
  async forward(request: Buffer, query: Query, route: Route): Promise<ForwardResult> {
    if (this.inFlight >= this.options.maxConcurrent) {
      this.concurrencyRejects++
      return {refused: true}
    }
    this.inFlight++
    const key = cacheKey(query)
    try {
      for (const upstream of candidates(route.upstreams)) {
        try {
          const reply = await upstream.exchange(request, this.options.timeoutMs)
          this.cache.put(key, reply)
          return {reply}
        } catch {
          // counted by the upstream; the next one is tried
        }
      }
      const stale = this.cache.getStale(key)
      return stale ? {reply: stale, stale: true} : {failed: true}
    } finally {
      this.inFlight--
    }
  }

  close(): void {
    for (const upstream of this.upstreamsByLabel.values()) upstream.stop()
    this.udp.close()
  }

  /** UDP sockets open for forwarding (bounded by the pool). */
  get openSockets(): number {
    return this.udp.openSockets
  }
}

const cacheKey = (query: Query) => `${query.name}|${query.type}|${query.klass}|${query.edns?.dnssecOk ? 1 : 0}`

/**
 * The upstreams to try, in order: those up, the ones that failed lately last (a stable
 * sort: otherwise as configured); when every one is down, the one that failed least (as
 * CoreDNS picks one when all are down), so a query still has a chance and its answer
 * ends the outage at once.
 */
export function candidates(upstreams: readonly Upstream[]): readonly Upstream[] {
  const up = upstreams.filter((upstream) => !upstream.down)
  if (up.length) return up.some((upstream) => upstream.fails) ? up.sort((a, b) => a.fails - b.fails) : up
  if (!upstreams.length) return []
  return [upstreams.reduce((best, upstream) => (upstream.fails < best.fails ? upstream : best))]
}
