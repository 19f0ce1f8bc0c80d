import {Counter, Gauge, type Registry} from 'prom-client'
import {createMetricsRegistry} from '../lib/metrics.js'
import {Histogram} from './histogram.js'
import type {Upstream} from './upstream.js'

/**
 * CoreDNS's families, named cnet_dns_* (the list is in docs/dns.md and checked by a
 * test). The hot path only adds to plain numbers keyed by small integers; they reach
 * prom-client when it collects (a prom-client call validates and hashes its labels
 * every time, which cost more than answering the query). With workers, each counts its
 * own and the primary adds them up.
 */
export const DURATION_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192]
/** CoreDNS's size buckets (bytes). */
export const SIZE_BUCKETS = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3]

/** Bucket index of every size a DNS message can have: a size observation is one array read. */
const SIZE_BUCKET_OF = (() => {
  const table = new Uint8Array(65_536)
  let bucket = 0
  for (let size = 0; size < table.length; size++) {
    while (bucket < SIZE_BUCKETS.length && size > SIZE_BUCKETS[bucket]!) bucket++
    table[size] = bucket
  }
  return table
})()

class SizeHistogram extends Histogram {
  constructor() {
    super(SIZE_BUCKETS)
  }

  override observe(size: number): void {
    this.counts[SIZE_BUCKET_OF[size & 0xffff]!]!++
    this.sum += size
  }
}

/** What the scrape reads besides the query counts: caches, upstreams. */
export interface MetricsSources {
  cache(): {hits: number; misses: number; entries: number}
  upstreams(): readonly Upstream[]
  /** Forwarded queries refused past --max-concurrent. */
  concurrencyRejects(): number
}

/** Per zone (its index in `zones`), per protocol (0 udp, 1 tcp). */
interface ZoneCounts {
  duration: Histogram
  requestSize: [SizeHistogram, SizeHistogram]
  responseSize: [SizeHistogram, SizeHistogram]
}

export class DnsMetrics {
  readonly registry: Registry
  private zones: string[] = []
  private perZone: ZoneCounts[] = []
  /** Counts since the last scrape: requests by requestSlot, responses by rcode * zones + zone. */
  private readonly pendingRequests = new Map<number, number>()
  private readonly pendingResponses = new Map<number, number>()
  private readonly requests: Counter
  private readonly responses: Counter
  private readonly cacheHits: Counter
  private readonly cacheMisses: Counter
  private readonly cacheEntries: Gauge
  private readonly forwardRequests: Counter
  private readonly forwardResponses: Counter
  private readonly forwardErrors: Counter
  private readonly healthcheckFailures: Counter
  private readonly concurrencyRejects: Counter
  /** What was already added to the prom-client counters read from plain totals. */
  private flushed = {hits: 0, misses: 0, rejects: 0, upstreams: new Map<Upstream, {requests: number; errors: number; healthcheckFailures: number; responses: Map<number, number>}>()}

  constructor(private readonly server: string, zones: string[], private readonly sources: MetricsSources, registry: Registry = createMetricsRegistry()) {
    this.registry = registry
    const registers = [registry]
    this.setZones(zones)
    // The first metric registered is the first collected, so its hook flushes before any other is read.
    this.requests = new Counter({name: 'cnet_dns_requests_total', help: 'Queries received', labelNames: ['server', 'zone', 'proto', 'family', 'type'], registers, collect: () => this.flush()})
    this.responses = new Counter({name: 'cnet_dns_responses_total', help: 'Replies sent, by rcode', labelNames: ['server', 'zone', 'rcode'], registers})
    const histogram = (name: string, help: string, series: () => {labels: Record<string, string>; histogram: Histogram}[]) =>
      registry.registerMetric({
        name,
        help,
        type: 'histogram',
        aggregator: 'sum',
        get: async () => ({name, help, type: 'histogram', aggregator: 'sum', values: series().flatMap(({labels, histogram}) => histogram.values(name, labels))}),
      } as never)
    histogram('cnet_dns_request_duration_seconds', 'Time to answer a query', () => this.perZone.map((counts, zone) => ({labels: {server, zone: this.zones[zone]!}, histogram: counts.duration})))
    const sizes = (which: 'requestSize' | 'responseSize') => () =>
      this.perZone.flatMap((counts, zone) => (['udp', 'tcp'] as const).map((proto, i) => ({labels: {server, zone: this.zones[zone]!, proto}, histogram: counts[which][i]!})))
    histogram('cnet_dns_request_size_bytes', 'Size of queries received', sizes('requestSize'))
    histogram('cnet_dns_response_size_bytes', 'Size of replies sent', sizes('responseSize'))
    this.cacheHits = new Counter({name: 'cnet_dns_cache_hits_total', help: 'Lookups answered from a cache (service answers and forwarded ones)', registers})
    this.cacheMisses = new Counter({name: 'cnet_dns_cache_misses_total', help: 'Lookups not found in a cache', registers})
    this.cacheEntries = new Gauge({name: 'cnet_dns_cache_entries', help: 'Entries in the caches', registers})
    this.forwardRequests = new Counter({name: 'cnet_dns_forward_requests_total', help: 'Queries sent to an upstream', labelNames: ['to'], registers})
    this.forwardResponses = new Counter({name: 'cnet_dns_forward_responses_total', help: 'Replies from an upstream, by rcode', labelNames: ['to', 'rcode'], registers})
    histogram('cnet_dns_forward_request_duration_seconds', 'Time an upstream took to answer', () => this.sources.upstreams().map((upstream) => ({labels: {to: upstream.label}, histogram: upstream.durations})))
    this.forwardErrors = new Counter({name: 'cnet_dns_forward_upstream_errors_total', help: 'Exchanges with an upstream that got no answer', labelNames: ['to'], registers})
    this.healthcheckFailures = new Counter({name: 'cnet_dns_forward_healthcheck_failures_total', help: 'Health probes an upstream did not answer', labelNames: ['to'], registers})
    this.concurrencyRejects = new Counter({name: 'cnet_dns_forward_max_concurrent_rejects_total', help: 'Queries refused because --max-concurrent were in flight', registers})
  }

  /** The zones counted under (the service zone, each stub domain, "."); flushes what was counted under the old ones. */
  setZones(zones: string[]): void {
    if (this.zones.length) this.flush()
    this.zones = zones
    this.perZone = zones.map(() => ({duration: new Histogram(DURATION_BUCKETS), requestSize: [new SizeHistogram(), new SizeHistogram()], responseSize: [new SizeHistogram(), new SizeHistogram()]}))
  }

  /**
   * One reply sent: `zone` indexes the zones, `tcp` and `ipv6` are 0 or 1. Top-level
   * numbers only: this runs for every query.
   */
  observe(zone: number, tcp: number, ipv6: number, type: number, rcode: number, seconds: number, requestSize: number, responseSize: number): void {
    const zones = this.zones.length
    const slot = ((type * zones + zone) << 2) | (tcp << 1) | ipv6
    this.pendingRequests.set(slot, (this.pendingRequests.get(slot) ?? 0) + 1)
    const responseSlot = rcode * zones + zone
    this.pendingResponses.set(responseSlot, (this.pendingResponses.get(responseSlot) ?? 0) + 1)
    const counts = this.perZone[zone]!
    counts.duration.observe(seconds)
    counts.requestSize[tcp]!.observe(requestSize)
    counts.responseSize[tcp]!.observe(responseSize)
  }

  private flush(): void {
    const zones = this.zones.length
    for (const [slot, count] of this.pendingRequests) {
      const zoneType = slot >> 2
      this.requests.labels(this.server, this.zones[zoneType % zones]!, slot & 2 ? 'tcp' : 'udp', slot & 1 ? '2' : '1', typeLabel(Math.floor(zoneType / zones))).inc(count)
    }
    this.pendingRequests.clear()
    for (const [slot, count] of this.pendingResponses) this.responses.labels(this.server, this.zones[slot % zones]!, rcodeLabel(Math.floor(slot / zones))).inc(count)
    this.pendingResponses.clear()

    const cache = this.sources.cache()
    this.cacheHits.inc(Math.max(0, cache.hits - this.flushed.hits))
    this.cacheMisses.inc(Math.max(0, cache.misses - this.flushed.misses))
    this.flushed.hits = cache.hits
    this.flushed.misses = cache.misses
    this.cacheEntries.set(cache.entries)
    const rejects = this.sources.concurrencyRejects()
    this.concurrencyRejects.inc(Math.max(0, rejects - this.flushed.rejects))
    this.flushed.rejects = rejects
    for (const upstream of this.sources.upstreams()) {
      let last = this.flushed.upstreams.get(upstream)
      if (!last) this.flushed.upstreams.set(upstream, (last = {requests: 0, errors: 0, healthcheckFailures: 0, responses: new Map()}))
      this.forwardRequests.labels(upstream.label).inc(upstream.requests - last.requests)
      this.forwardErrors.labels(upstream.label).inc(upstream.errors - last.errors)
      this.healthcheckFailures.labels(upstream.label).inc(upstream.healthcheckFailures - last.healthcheckFailures)
      for (const [rcode, count] of upstream.responses) {
        this.forwardResponses.labels(upstream.label, rcodeLabel(rcode)).inc(count - (last.responses.get(rcode) ?? 0))
        last.responses.set(rcode, count)
      }
      last.requests = upstream.requests
      last.errors = upstream.errors
      last.healthcheckFailures = upstream.healthcheckFailures
    }
  }
}

/** Processes answering queries now: 1 without workers; with workers, those that have loaded the registry and bound the sockets. */
export function workersServingGauge(registry: Registry, serving: () => number): Gauge {
  return new Gauge({
    name: 'cnet_dns_workers_serving',
    help: 'Processes answering queries (workers that have loaded the registry and bound the sockets)',
    registers: [registry],
    collect() {
      this.set(serving())
    },
  })
}

/** Config reloads, by result: in the process that reads the config (the primary, with workers). */
export function reloadCounter(registry: Registry): Counter {
  return new Counter({name: 'cnet_dns_reloads_total', help: 'Config reloads (SIGHUP), by result', labelNames: ['result'], registers: [registry]})
}

const TYPE_LABELS: Record<number, string> = {1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 35: 'NAPTR', 43: 'DS', 48: 'DNSKEY', 64: 'SVCB', 65: 'HTTPS', 252: 'AXFR', 255: 'ANY'}
const RCODE_LABELS: Record<number, string> = {0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS'}

/** The type label CoreDNS uses: common types by name, the rest as "other". */
export function typeLabel(type: number): string {
  return TYPE_LABELS[type] ?? 'other'
}

export function rcodeLabel(rcode: number): string {
  return RCODE_LABELS[rcode] ?? String(rcode)
}
