import {Counter, Gauge, Registry} from 'prom-client'

/**
 * CoreDNS-style metrics, named cnet_dns_*. The hot path only adds to plain numbers;
 * they reach prom-client when it collects (a prom-client call validates and hashes its
 * labels every time, which cost more than answering the query).
 */
export class DnsMetrics {
  readonly registry = new Registry()
  private readonly requests: Counter
  private readonly responses: Counter
  private readonly duration: RequestDurations
  readonly cacheHits: Counter
  readonly cacheMisses: Counter
  readonly cacheEntries: Gauge
  readonly upstreamErrors: Counter
  private readonly pendingRequests = new Map<string, {labels: string[]; count: number}>()
  private readonly pendingResponses = new Map<string, number>()

  /** `beforeCollect` runs first on every scrape, for other counters kept as plain numbers. */
  constructor(private readonly server: string, private readonly zone: string, beforeCollect?: () => void) {
    const registers = [this.registry]
    // The first metric registered is the first collected, so its hook flushes before any other is read.
    this.requests = new Counter({
      name: 'cnet_dns_requests_total',
      help: 'Queries received',
      labelNames: ['server', 'zone', 'proto', 'family', 'type'],
      registers,
      collect: () => {
        this.flush()
        beforeCollect?.()
      },
    })
    this.responses = new Counter({name: 'cnet_dns_responses_total', help: 'Replies sent by rcode', labelNames: ['server', 'zone', 'rcode'], registers})
    this.duration = new RequestDurations('cnet_dns_request_duration_seconds', 'Time to answer', {server, zone})
    this.registry.registerMetric(this.duration as never)
    this.cacheHits = new Counter({name: 'cnet_dns_cache_hits_total', help: 'Answers served from a cache', registers})
    this.cacheMisses = new Counter({name: 'cnet_dns_cache_misses_total', help: 'Answers built or forwarded', registers})
    this.cacheEntries = new Gauge({name: 'cnet_dns_cache_entries', help: 'Entries in the caches', registers})
    this.upstreamErrors = new Counter({name: 'cnet_dns_forward_upstream_errors_total', help: 'Failed exchanges with upstreams', registers})
  }

  observe(proto: string, family: string, type: string, rcode: string, seconds: number): void {
    const requestKey = `${proto}|${family}|${type}`
    const request = this.pendingRequests.get(requestKey)
    if (request) request.count++
    else this.pendingRequests.set(requestKey, {labels: [proto, family, type], count: 1})
    this.pendingResponses.set(rcode, (this.pendingResponses.get(rcode) ?? 0) + 1)
    this.duration.observe(seconds)
  }

  private flush(): void {
    for (const pending of this.pendingRequests.values()) {
      if (pending.count) this.requests.labels(this.server, this.zone, ...pending.labels).inc(pending.count)
      pending.count = 0
    }
    for (const [rcode, count] of this.pendingResponses) if (count) this.responses.labels(this.server, this.zone, rcode).inc(count)
    this.pendingResponses.clear()
  }
}

const BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048]

/** A histogram with fixed labels, exported in prom-client's format (so workers' copies add up). */
class RequestDurations {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly counts = new Float64Array(BUCKETS.length + 1)
  private sum = 0

  constructor(readonly name: string, readonly help: string, private readonly labels: Record<string, string>) {}

  observe(seconds: number): void {
    let i = 0
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++
    this.counts[i]!++
    this.sum += seconds
  }

  async get() {
    let cumulative = 0
    const values = BUCKETS.map((le, i) => {
      cumulative += this.counts[i]!
      return {labels: {...this.labels, le}, value: cumulative, metricName: `${this.name}_bucket`}
    })
    const count = cumulative + this.counts[BUCKETS.length]!
    values.push({labels: {...this.labels, le: '+Inf' as unknown as number}, value: count, metricName: `${this.name}_bucket`})
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...values, {labels: {...this.labels}, value: this.sum, metricName: `${this.name}_sum`}, {labels: {...this.labels}, value: count, metricName: `${this.name}_count`}],
    }
  }
}
